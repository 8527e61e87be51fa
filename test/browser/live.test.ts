// The live pages in a real browser, the demo path end to end: demo data, a grid search, "Deploy
// this pair" on its job page, a strategy from the deploy form, a replay started from /live's form;
// /live then fills with games and signals without a reload, a game's page grows as its ticks come;
// screenshots of both at 1280 and 360 px in test-artifacts/, and no Content-Security-Policy
// violation on any page.
import { describe, expect, test } from "bun:test";
import { eventually } from "../support/eventually";
import { SKIP_REASON, artifact, browserSession, hasChromium, markHere, shoot, stillHere } from "./browser";


if (!hasChromium) {
  test.skip(`browser tests skipped: ${SKIP_REASON}`, () => {});
} else {
  describe("live pages in chromium", () => {
    const b = browserSession(["--tick-ms", "50"]);

    test("demo data, a grid search, deploy its pair, replay from /live: signals arrive and a game grows without a reload", async () => {
      expect((await fetch(`${b.server.url}/api/games/demo?games=60&seed=1`, { method: "POST" })).status).toBe(200);
      const { request_id: id } = await (await fetch(`${b.server.url}/api/grid-search/run`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ entry_start: 0.02, entry_stop: 0.2, entry_step: 0.02, exit_start: 0, exit_stop: 0.1, exit_step: 0.02 }),
      })).json() as { request_id: string };

      const page = await b.context.newPage();
      await page.goto(`${b.server.url}/jobs/${id}`);
      const deploy = page.getByRole("button", { name: "Deploy this pair" });
      await deploy.waitFor({ timeout: 30_000 });
      expect(await page.getByLabel("Strategy name").inputValue()).toBe(`grid ${id.slice(0, 8)}`);
      await deploy.scrollIntoViewIfNeeded();
      await page.screenshot({ path: artifact("live-deploy-pair.png") });
      await Promise.all([page.waitForURL(`${b.server.url}/live`), deploy.click()]);
      await page.locator("#live-strategies", { hasText: `grid ${id.slice(0, 8)}` }).waitFor();
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live");
      await shoot(page, "live-empty");
      await markHere(page);

      // A second strategy from the deploy form (htmx: a notice, the table updates from the socket).
      await page.fill("#deploy-name", "eager");
      await page.fill("#deploy-entry", "0.03");
      await page.fill("#deploy-exit", "0.01");
      await page.getByRole("button", { name: "Deploy", exact: true }).click();
      await page.locator("#deploy-result", { hasText: "Deployed eager" }).waitFor();
      await page.locator("#live-strategies", { hasText: "eager" }).waitFor();

      // A replay at 8x of the four longest demo games (about 40 s here): the game page
      // below watches the longest, which is still live however slow this machine is today.
      const stored = (await (await fetch(`${b.server.url}/api/games`)).json()).games as { id: string; ticks: number }[];
      const longest = [...stored].sort((a, b) => b.ticks - a.ticks).slice(0, 4).map((g) => g.id);
      await page.fill("#replay-count", "");
      await page.fill("#replay-games", longest.join("\n"));
      await page.fill("#replay-speed", "8");
      await page.getByRole("button", { name: "Start replay" }).click();
      await page.locator("#replay-result", { hasText: "Replay started: 4 games" }).waitFor();
      await page.locator("#live-games table tbody tr").first().waitFor({ timeout: 10_000 });
      await page.locator("#live-signals table tbody tr").first().waitFor({ timeout: 20_000 });
      expect(await page.locator("#live-games table tbody tr").count()).toBe(4);
      // The lines grow: a game's tick count rises on the page itself.
      const ticksOf = () => page.locator("#live-games tbody tr").first().locator("td").nth(1).textContent().then((t) => Number(t!.replace(/,/g, "")));
      const before = await ticksOf();
      await eventually(async () => (await ticksOf()) > before, { what: "the first game's ticks growing on /live", timeoutMs: 30_000 });
      await shoot(page, "live");
      expect(await stillHere(page)).toBe(true); // no reload

      // A game's page while it is live: its chart grows and its markers appear.
      const href = `/live/${encodeURIComponent(`replay-${longest[0]}`)}`;
      const game = await b.context.newPage();
      await game.goto(`${b.server.url}${href}`);
      await game.waitForFunction(() => document.getElementById("live")?.dataset.live === "live");
      await markHere(game);
      const gameTicks = () => game.locator("#live-game dl.figures div").nth(1).locator("dd").textContent().then((t) => Number(t!.replace(/,/g, "")));
      const start = await gameTicks();
      await eventually(async () => (await gameTicks()) > start, { what: "the game page's ticks growing", timeoutMs: 30_000 });
      await game.locator("#live-game svg .mark").first().waitFor({ timeout: 20_000 });
      await shoot(game, "live-game");
      await game.locator("#live-game", { hasText: "settled:" }).waitFor({ timeout: 90_000 });
      expect(await game.locator("#live").getAttribute("data-live")).toBe("final");
      expect(await stillHere(game)).toBe(true);
      await shoot(game, "live-game-settled");

      // The 360 px layout: the tables scroll inside their box, the page itself does not.
      await page.setViewportSize({ width: 360, height: 780 });
      const pageOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(pageOverflow).toBeLessThanOrEqual(0);
      await page.setViewportSize({ width: 1280, height: 900 });
      await game.close();
      await page.close();
      expect(b.csp).toEqual([]);
    }, 150_000);
  });
}
