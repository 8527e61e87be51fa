// kill -9 between two ingest requests of a real daemon: after the restart, every tick answered
// 200 is stored and the strategies continue exactly where they were (no signal repeated or
// skipped), so the settled game's signals still equal strategy.md.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchDaemon, waitHealthy } from "../support/daemon";
import { refStrategy, type RefGame } from "../support/reference";

const EXIT = 0.01, ENTRY = 0.05;

test("a daemon killed after a 200 keeps the acknowledged ticks and neither repeats nor skips a signal", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gridcast-live-restart-"));
  const ticks = Array.from({ length: 40 }, (_, k) => ({ t: k + 1, price: 0.5, fair: 0.5 + 0.1 * Math.sin(k / 2) }));
  const game: RefGame = { id: "restart-g", outcome: 1, ticks };
  const body = (part: typeof ticks) => part.map((t) => JSON.stringify({ game_id: game.id, ...t })).join("\n");
  let d = await launchDaemon(dir);
  try {
    await waitHealthy(d.url);
    // The daemon owns its data dir, so the strategy goes in through its API.
    const s = await fetch(`${d.url}/api/strategies`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "r", entry: ENTRY, exit: EXIT, fee: 0 }) });
    expect(s.status).toBe(201);
    const first = await fetch(`${d.url}/api/live/ticks`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: body(ticks.slice(0, 23)) });
    expect(first.status).toBe(200);
    d.proc.kill(9);
    await d.proc.exited;
    d = await launchDaemon(dir);
    await waitHealthy(d.url);
    const live = await (await fetch(`${d.url}/api/live/games`)).json();
    expect(live.games).toEqual([expect.objectContaining({ game_id: game.id, ticks: 23, t: 23 })]);
    const second = await fetch(`${d.url}/api/live/ticks`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: body(ticks.slice(23)) });
    expect(second.status).toBe(200);
    const settled = await fetch(`${d.url}/api/live/games/${game.id}/settle`, { method: "POST", body: '{"outcome":1}' });
    expect(settled.status).toBe(200);
    const sig = await (await fetch(`${d.url}/api/signals?game=${game.id}&limit=1000`)).json();
    const list: { id: number; action: string; t: number; pnl: number | null }[] = sig.signals;
    const closes = list.filter((x) => x.action === "close" || x.action === "settle");
    const ref = refStrategy(game, ENTRY, EXIT, 0);
    expect(closes.length).toBe(ref.trades);
    expect(ref.trades).toBeGreaterThan(2);
    expect(Math.abs(closes.reduce((a, x) => a + x.pnl!, 0) - ref.pnl)).toBeLessThanOrEqual(1e-9);
    // Strictly increasing t per signal except a settle on the last tick: nothing repeated.
    const ts = list.filter((x) => x.action !== "settle").map((x) => x.t);
    expect(new Set(ts).size).toBe(ts.length);
    const stored = await (await fetch(`${d.url}/api/games`)).json();
    expect(stored.games).toEqual([expect.objectContaining({ id: game.id, ticks: 40, outcome: 1 })]);
  } finally {
    d.proc.kill(9);
    await d.proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
