// Pages catch up after their socket comes back (protocol.md "History and recovery", issue 13), in a
// real browser: the page sockets of /live/{id} and /jobs/{id} follow state topics, so hx-ws's own
// reconnect brings the current state. The server closes the page's socket (1012, as on a restart)
// and keeps closing it while ticks are ingested, or the job runs on and is cancelled; the fallback
// poll is refused meanwhile, so whatever the page shows afterwards came over the socket. After it
// is Live again the page shows what it missed, without a reload and without polling.
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import type { RunningServer } from "../../src/server/lifecycle";
import { eventually } from "../support/eventually";
import { SKIP_REASON, artifact, browserSession, hasChromium, liveState, markHere, shoot, stillHere } from "./browser";

const waitLive = (page: Page, timeout = 20_000) =>
  page.waitForFunction(() => document.getElementById("live")?.dataset.live === "live", undefined, { timeout });

/** Refuses the page's fallback poll (so only the socket can bring news) and counts the attempts. */
async function refusePolls(page: Page, path: string): Promise<{ count: () => number }> {
  let n = 0;
  await page.route((url) => url.pathname === path, (route) => {
    n++;
    return route.abort();
  });
  return { count: () => n };
}

/**
 * Closes every socket of an endpoint now and every 50 ms until `stop` is called, as a restarting
 * server would refuse them; hx-ws keeps retrying with its backoff.
 */
function keepClosing(server: RunningServer, endpoint: string) {
  let running = true;
  const closeNow = () => server.realtime.sockets.closeWhere((c) => c.endpoint === endpoint, 1012, "test restart");
  closeNow();
  const loop = (async () => {
    while (running) {
      closeNow();
      await Bun.sleep(50);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** `n` ticks of a game from `from` on: edge 0.1 then 0 in turn, so a strategy (entry 0.05, exit 0.01) opens and closes. */
function ticks(game: string, from: number, n: number) {
  return Array.from({ length: n }, (_, k) => {
    const t = from + k;
    const price = Math.round((0.4 + 0.01 * (t % 20)) * 1000) / 1000;
    return { game_id: game, t, price, fair: t % 2 === 0 ? Math.round((price + 0.1) * 1000) / 1000 : price };
  });
}

if (!hasChromium) {
  test.skip(`browser tests skipped: ${SKIP_REASON}`, () => {});
} else {
  describe("pages recover after their socket comes back (chromium)", () => {
    const b = browserSession(["--tick-ms", "50"]);
    const post = (path: string, body: unknown) =>
      fetch(`${b.server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

    test("a live game's page shows the ticks and signals it missed while its socket was down, then stops polling", async () => {
      const game = "recover-1";
      expect((await post("/api/strategies", { name: "recovery", entry: 0.05, exit: 0.01, fee: 0 })).status).toBe(201);
      expect((await post("/api/live/ticks", ticks(game, 0, 10))).status).toBe(200);

      const page = await b.context.newPage();
      const requests: string[] = [];
      page.on("request", (r) => requests.push(new URL(r.url()).pathname));
      await page.goto(`${b.server.url}/live/${game}`);
      await waitLive(page);
      const figure = (name: string) => page.locator("#live-game dl.figures div", { has: page.locator(`dt:text-is("${name}")`) }).locator("dd").textContent();
      expect(await figure("Ticks")).toBe("10");
      const signalsBefore = Number(await figure("Signals"));
      expect(signalsBefore).toBeGreaterThan(0);
      await markHere(page);
      const polls = await refusePolls(page, `/pages/live/${game}`);

      const stop = keepClosing(b.server, "/pages/ws/live/:id");
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "offline", undefined, { timeout: 5000 });
      // Missed: 20 ticks (and their signals) while the page has no socket.
      const missed = ticks(game, 10, 20);
      const ingest = await (await post("/api/live/ticks", missed)).json() as { ticks: number; signals: number };
      expect(ingest.ticks).toBe(20);
      expect(ingest.signals).toBeGreaterThan(0);
      expect(await figure("Ticks")).toBe("10"); // nothing reached the page
      await page.screenshot({ path: artifact("recovery-live-game-offline.png") });
      await Bun.sleep(1500); // down a while: hx-ws backs off between its attempts
      await stop();

      await waitLive(page);
      await eventually(async () => (await figure("Ticks")) === "30", { what: "the game page showing all 30 ticks" });
      const last = missed.at(-1)!;
      expect(Number(await figure("Price"))).toBe(last.price);
      const signals = await (await fetch(`${b.server.url}/api/signals?game=${game}&limit=1000`)).json() as { signals?: unknown[] } | unknown[];
      const stored = Array.isArray(signals) ? signals.length : (signals.signals ?? []).length;
      expect(Number(await figure("Signals"))).toBe(stored);
      expect(stored).toBe(signalsBefore + ingest.signals);
      expect(await stillHere(page)).toBe(true); // the same document: no reload
      expect(requests.filter((p) => p === `/live/${game}`).length).toBe(1);

      // Live again: the fallback poll stays quiet (it fires every 2 s only while Offline).
      const atLive = polls.count();
      await Bun.sleep(4500);
      expect(polls.count()).toBe(atLive);
      expect(await liveState(page)).toBe("live");
      await shoot(page, "recovery-live-game");
      await page.close();
    }, 60_000);

    test("a job's page shows its current progress after its socket comes back, and the cancel that happened while it was down", async () => {
      // A job that outlasts the test however fast the kernel gets (it jumps between trades): it is
      // cancelled before it ends.
      expect((await post("/api/games/demo?games=2000&seed=1", {})).status).toBe(200);
      const res = await post("/api/grid-search/run", { entry_start: 0.0005, entry_stop: 0.6, entry_step: 0.0005, exit_start: 0, exit_stop: 0.5, exit_step: 0.0005 });
      const { request_id: id } = await res.json() as { request_id: string };
      const progressOf = async () => (await (await fetch(`${b.server.url}/api/grid-search/progress/${id}`)).json()) as { status: string; current: number; total: number };

      const page = await b.context.newPage();
      await page.goto(`${b.server.url}/jobs/${id}`);
      await waitLive(page);
      await page.locator('#job-progress[data-status="running"]').waitFor({ timeout: 20_000 });
      await markHere(page);
      const polls = await refusePolls(page, `/jobs/${id}/live`);
      const shown = async () => Number(await page.locator("#job-progress progress").getAttribute("value"));

      // Down while the job runs on.
      let stop = keepClosing(b.server, "/pages/ws/jobs/:id");
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "offline", undefined, { timeout: 5000 });
      const frozen = await shown();
      await eventually(async () => {
        const p = await progressOf();
        return (p.current / p.total) * 100 >= frozen + 0.5;
      }, { what: "the job progressing while the page is offline", timeoutMs: 30_000 });
      const serverAtStop = await progressOf();
      await stop();
      await waitLive(page);
      await eventually(async () => (await shown()) >= Math.floor((serverAtStop.current / serverAtStop.total) * 1000) / 10,
        { what: "the page's bar at least where the job was when its socket came back" });
      expect(await shown()).toBeGreaterThan(frozen);
      expect(await stillHere(page)).toBe(true);
      const atLive = polls.count();
      await Bun.sleep(4500);
      expect(polls.count()).toBe(atLive);
      await shoot(page, "recovery-job-running");

      // Down again, and the job is cancelled meanwhile: back, the page says so.
      stop = keepClosing(b.server, "/pages/ws/jobs/:id");
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "offline", undefined, { timeout: 5000 });
      expect((await post(`/api/jobs/${id}/cancel`, {})).status).toBeLessThan(300);
      await eventually(async () => (await progressOf()).status === "cancelled", { what: "the job cancelled" });
      expect(await page.locator("#job-progress").getAttribute("data-status")).toBe("running");
      await Bun.sleep(1000);
      await stop();
      await page.locator('#job-progress[data-status="cancelled"]').waitFor({ timeout: 20_000 });
      expect(await page.locator("#job-progress .badge").textContent()).toBe("Cancelled");
      await page.waitForFunction(() => document.getElementById("live")?.dataset.live === "final", undefined, { timeout: 5000 });
      expect(await stillHere(page)).toBe(true);
      const atFinal = polls.count();
      await Bun.sleep(2500);
      expect(polls.count()).toBe(atFinal);
      await shoot(page, "recovery-job-cancelled");
      await page.close();
    }, 90_000);

    test("the ops page shows the history held, the recoveries and a client falling behind", async () => {
      // A protocol client that recovers `signals` from the start and acknowledges only the first of them.
      const ws = new WebSocket(`${b.server.url.replace("http", "ws")}/ws`);
      const inbox: Record<string, unknown>[] = [];
      ws.onmessage = (e) => inbox.push(JSON.parse(String(e.data)));
      await new Promise((r) => (ws.onopen = r));
      ws.send(JSON.stringify({ type: "subscribe", topic: "signals" }));
      const { epoch } = await eventually(() => inbox.find((m) => m.type === "subscription_confirmed"), { what: "signals confirmed" });
      ws.send(JSON.stringify({ type: "unsubscribe", topic: "signals" }));
      ws.send(JSON.stringify({ type: "subscribe", topic: "signals", since: { epoch, seq: 0 } }));
      await eventually(() => inbox.filter((m) => m.type === "subscription_confirmed").length === 2, { what: "the recovery confirmed" });
      ws.send(JSON.stringify({ type: "ack", topic: "signals", seq: 1 }));
      await post("/api/live/ticks", ticks("recover-2", 0, 6));

      const page = await b.context.newPage();
      await page.goto(`${b.server.url}/ops`);
      await waitLive(page);
      await page.locator("#ops-metrics table.lagging tbody tr", { hasText: "signals" }).waitFor({ timeout: 20_000 });
      expect(await page.locator("#ops-metrics .ops-history").textContent()).toContain("Recoveries");
      await shoot(page, "recovery-ops");
      await page.close();
      ws.close();
    }, 60_000);
  });
}
