// The pages in a real browser: a grid search from the form watched to 100% and its heatmap
// without a reload and without progress polls; cancel from the job page; the socket killed from
// the server (Offline, polling, then Live again and polling stops); an import from the data page;
// a screenshot of each page, wide and at 360 px, in test-artifacts/. With --auth on: signing in
// from the printed `/login#token=...` link, the dashboard's socket through the session cookie,
// demo data and a grid search posted with the session's CSRF token, and no Content-Security-Policy
// violation reported on any page in either mode.
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { SKIP_REASON, artifact, browserSession, hasChromium, liveState, shoot } from "./browser";

if (!hasChromium) {
  test.skip(`browser tests skipped: ${SKIP_REASON}`, () => {});
} else {
  describe("pages in chromium", () => {
    const b = browserSession(["--metrics-interval-ms", "1000"]);

    /** Every request the page makes, by path. */
    function track(page: Page): string[] {
      const seen: string[] = [];
      page.on("request", (r) => seen.push(new URL(r.url()).pathname + new URL(r.url()).search));
      return seen;
    }
    /** A wide table fits at 1280 px; at 360 px it scrolls in its wrapper and the "scroll →" hint shows. */
    async function scrollsWhenNarrow(page: Page, wrapper: string) {
      const wrap = page.locator(wrapper).first();
      const overflow = () => wrap.evaluate((e) => e.scrollWidth - e.clientWidth);
      expect(await overflow()).toBe(0);
      expect(await wrap.locator(".scroll-hint").isVisible()).toBe(false);
      await page.setViewportSize({ width: 360, height: 780 });
      expect(await overflow()).toBeGreaterThan(0);
      await wrap.locator(".scroll-hint").waitFor({ state: "visible" });
      await page.setViewportSize({ width: 1280, height: 900 });
    }

    test("data page: an empty store loads the demo data with one button; the games appear without a reload", async () => {
      const page = await b.context.newPage();
      await page.goto(`${b.server.url}/data`);
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live");
      await shoot(page, "data-empty");
      await page.getByRole("button", { name: /Load demo data/ }).click();
      await page.locator("text=synthetic-0001").first().waitFor({ timeout: 20_000 });
      expect(page.url()).toBe(`${b.server.url}/data`);
      await page.close();
    });

    test("grid search from the form: the bar reaches 100% and the heatmap appears without a reload or progress polls", async () => {
      const page = await b.context.newPage();
      const requests = track(page);
      await page.goto(`${b.server.url}/grid-search/new`);
      const fill = { entry_start: "0.002", entry_stop: "0.4", entry_step: "0.002", exit_start: "0", exit_stop: "0.3", exit_step: "0.002" };
      for (const [name, value] of Object.entries(fill)) await page.fill(`input[name="${name}"]`, value);
      // The preview follows the typing: 18,875 (entry, exit) pairs with exit < entry.
      await page.locator("#grid-preview", { hasText: "18,875 pairs" }).waitFor();
      expect(await page.locator("#grid-preview").textContent()).toContain("200 games");
      expect(requests.filter((r) => r === "/grid-search/preview").length).toBeGreaterThanOrEqual(1);
      await page.fill('input[name="exit_step"]', "0");
      await page.locator("#err-exit_step", { hasText: "must be > 0" }).waitFor();
      await page.fill('input[name="exit_step"]', "0.002");
      await page.locator("#err-exit_step").filter({ hasText: /^$/ }).waitFor({ state: "attached" });
      await shoot(page, "grid-search-new");
      await Promise.all([page.waitForURL(/\/jobs\//), page.getByRole("button", { name: "Start grid search" }).click()]);
      const jobUrl = page.url();
      const id = jobUrl.split("/").at(-1)!;
      const mark = requests.length;
      // A reload would lose this.
      await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
      await page.locator("#job-results svg").first().waitFor({ timeout: 30_000 });
      expect(await page.locator("#job-progress progress").getAttribute("value")).toBe("100.0");
      expect(await page.locator("#job-progress .badge").textContent()).toBe("Complete");
      expect(await liveState(page)).toBe("final");
      expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true); // no reload
      const after = requests.slice(mark);
      expect(after.filter((r) => r.includes("/live") || r.includes("/progress/"))).toEqual([]); // no progress polls
      expect(after.filter((r) => r === `/jobs/${id}/results`).length).toBe(1);
      expect(await page.locator("table.pairs tbody tr").count()).toBe(10);
      await scrollsWhenNarrow(page, "#job-results .table-wrap:has(table.pairs)");
      await shoot(page, "job-grid-complete");
      // The final selection simulated from the results: per-game results and the equity curve.
      await Promise.all([page.waitForURL(/\/jobs\//), page.getByRole("button", { name: /Simulate this pair/ }).click()]);
      await page.locator("#job-results figure.equity svg").waitFor({ timeout: 20_000 });
      await shoot(page, "job-simulation");
      await page.close();
    });

    test("cancel a job from its page", async () => {
      const res = await fetch(`${b.server.url}/api/grid-search/run`, { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ entry_start: 0.0005, entry_stop: 0.6, entry_step: 0.0005, exit_start: 0, exit_stop: 0.5, exit_step: 0.0005 }) });
      const { request_id } = await res.json();
      const page = await b.context.newPage();
      await page.goto(`${b.server.url}/jobs/${request_id}`);
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live");
      await page.locator('#job-progress[data-status="running"]').waitFor();
      await shoot(page, "job-running");
      await page.getByRole("button", { name: "Cancel job" }).focus();
      await page.keyboard.press("Enter");
      await page.locator('#job-progress[data-status="cancelled"]').waitFor({ timeout: 10_000 });
      expect(await page.locator("#job-progress .badge").textContent()).toBe("Cancelled");
      expect(await page.locator("text=the job was cancelled").count()).toBe(1);
      await page.close();
    });

    test("socket killed from the server: Offline and polling every 2 s, then Live again and the polling stops", async () => {
      const page = await b.context.newPage();
      const requests = track(page);
      await page.goto(`${b.server.url}/`);
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live");
      const states = new Set<string>();
      const kill = async () => {
        const status = await (await fetch(`${b.server.url}/api/websocket/status`)).json();
        for (const c of status.connections) if (c.endpoint === "/pages/ws/dashboard") b.server.realtime.sockets.closeOne(c.id, 1012, "test restart");
      };
      // Keep refusing the dashboard's socket for 5 s, as a restarting server would.
      const until = Date.now() + 5000;
      let text = "";
      while (Date.now() < until) {
        await kill();
        const state = String(await liveState(page));
        if (state === "offline" && !states.has("offline")) {
          text = String(await page.locator("#live .live-text").textContent());
          await page.screenshot({ path: artifact("dashboard-offline.png") });
        }
        states.add(state);
        await Bun.sleep(100);
      }
      expect(states.has("offline")).toBe(true);
      expect(text).toContain("Offline");
      const polls = requests.filter((r) => r === "/pages/dashboard").length;
      expect(polls).toBeGreaterThanOrEqual(1);
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live", undefined, { timeout: 15_000 });
      const atLive = requests.filter((r) => r === "/pages/dashboard").length;
      await Bun.sleep(4500);
      expect(requests.filter((r) => r === "/pages/dashboard").length).toBe(atLive); // no polling while the socket is up
      await scrollsWhenNarrow(page, "#dashboard-jobs .table-wrap");
      await shoot(page, "dashboard");
      await page.close();
    });

    test("import a file from the data page", async () => {
      const page = await b.context.newPage();
      await page.goto(`${b.server.url}/data`);
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live");
      const csv = "game_id,t,price,fair,outcome\n<b>browser-game</b>,0,0.5,0.62,1\n<b>browser-game</b>,1,0.52,0.6,1\n";
      await page.setInputFiles("#import-file", { name: "browser.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
      await page.getByRole("button", { name: "Import", exact: true }).click();
      await page.locator("#import-result", { hasText: "Imported 1 game (2 ticks) from browser.csv." }).waitFor({ timeout: 10_000 });
      await page.locator("#update-status", { hasText: "browser.csv" }).waitFor();
      // The games list reloads by itself once the update's status says it finished.
      await page.locator("#games h2", { hasText: "(201)" }).waitFor({ timeout: 10_000 });
      expect(await page.locator("#games td", { hasText: "<b>browser-game</b>" }).count()).toBe(1);
      await shoot(page, "data");
      await page.close();
    });

    test("ops page: live metrics", async () => {
      const page = await b.context.newPage();
      await page.goto(`${b.server.url}/ops`);
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live");
      await page.locator("#ops-metrics", { hasText: "Connections" }).waitFor();
      const first = await page.locator("#ops-metrics .muted").first().textContent();
      await page.waitForFunction((t) => document.querySelector("#ops-metrics .muted")?.textContent !== t, first, { timeout: 5000 });
      await shoot(page, "ops");
      await page.close();
    });

    test("no page reported a Content-Security-Policy violation", () => {
      expect(b.csp).toEqual([]);
    });
  });

  describe("pages in chromium with --auth on", () => {
    /** Every URL the browser asked the server for: the token must be in none of them. */
    const asked: string[] = [];
    const b = browserSession(["--auth", "on"], (context) => context.on("request", (r) => asked.push(r.url())));

    test("sign in from /login#token=..., load demo data and run a grid search from the form (CSRF carried), with no CSP violation", async () => {
      const { token } = await b.server.access.tokens.create({ name: "<b>ops</b> & co", role: "operator", tier: "pro" });
      const page = await b.context.newPage();
      // Without a session the dashboard sends the browser to the sign-in form.
      await page.goto(`${b.server.url}/`);
      expect(new URL(page.url()).pathname).toBe("/login");
      await page.goto(`${b.server.url}/login#token=${token}`);
      await page.waitForFunction((t) => (document.getElementById("token") as HTMLInputElement | null)?.value === t, token);
      expect(page.url()).toBe(`${b.server.url}/login`); // the fragment is gone from the address bar
      await shoot(page, "login");
      await Promise.all([page.waitForURL(`${b.server.url}/`), page.getByRole("button", { name: "Sign in" }).click()]);
      // The page's socket authenticates with the session cookie.
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live");
      expect(await page.locator(".account .who").textContent()).toBe("Signed in as <b>ops</b> & co");
      expect(await page.locator(".account .badge-role").textContent()).toBe("role operator");
      expect(await page.locator(".account .badge-tier").textContent()).toBe("tier pro");
      await shoot(page, "header-signed-in");

      // htmx's POST to /api/games/demo carries X-CSRF-Token (a cookie-authenticated change without it is refused).
      await page.goto(`${b.server.url}/data`);
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live");
      await page.getByRole("button", { name: /Load demo data/ }).click();
      await page.locator("text=synthetic-0001").first().waitFor({ timeout: 20_000 });

      // The form's plain POST carries the hidden _csrf field.
      await page.goto(`${b.server.url}/`);
      const fill = { entry_start: "0.02", entry_stop: "0.2", entry_step: "0.02", exit_start: "0", exit_stop: "0.1", exit_step: "0.02" };
      for (const [name, value] of Object.entries(fill)) await page.fill(`input[name="${name}"]`, value);
      await page.locator("#grid-preview", { hasText: "pairs" }).waitFor(); // the preview's htmx POST went through too
      await Promise.all([page.waitForURL(/\/jobs\//), page.getByRole("button", { name: "Start grid search" }).click()]);
      await page.locator("#job-results svg").first().waitFor({ timeout: 30_000 });
      expect(await page.locator("#job-progress .badge").textContent()).toBe("Complete");

      // Signing out ends the session: the next page is the sign-in form again.
      await Promise.all([page.waitForURL(/\/login/), page.getByRole("button", { name: "Sign out" }).click()]);
      await page.goto(`${b.server.url}/data`);
      expect(new URL(page.url()).pathname).toBe("/login");
      await page.close();

      expect(asked.filter((u) => u.includes(token))).toEqual([]);
      expect(b.csp).toEqual([]);
    });
  });
}
