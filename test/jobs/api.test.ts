// Grid searches and simulations through the API, on both databases, held against an independent
// implementation of strategy.md; progress, results, cancel, limits and bad parameters.
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { randomGames, refGameOrder, refGrid, refStrategy, refValues } from "../support/reference";
import { startTestServer, stopTestServer } from "../support/server";

const { games, csv } = randomGames(23, 7);
const GRID = { entry_start: 0.02, entry_stop: 0.2, entry_step: 0.03, exit_start: 0, exit_stop: 0.1, exit_step: 0.02, fee: 0.005 };

forEachDatabase("jobs API", (db) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startTestServer({ database: db(), flags: ["--max-pairs", "6000", "--max-queued-jobs", "3", "--max-running-jobs", "1", "--workers", "2"] });
    const res = await fetch(`${server.url}/api/games/import`, { method: "POST", body: csv, headers: { "content-type": "text/csv" } });
    expect(res.status).toBe(200);
  });
  afterEach(() => stopTestServer(server));

  const postJson = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  function finish(kind: "grid-search" | "simulation", id: string) {
    return eventually(async () => {
      const p = await (await fetch(`${server.url}/api/${kind}/progress/${id}`)).json();
      return ["complete", "error", "cancelled"].includes(p.status) && p;
    }, { timeoutMs: 20_000, intervalMs: 20, what: `${kind} ${id} to finish` });
  }

  test("a grid search matches the reference to 1e-9 for every pair and split, with the final selection", async () => {
    const run = await postJson("/api/grid-search/run", GRID);
    expect(run.status).toBe(200);
    const { request_id } = await run.json();
    expect(request_id).toMatch(/^[0-9a-f-]{36}$/);
    const done = await finish("grid-search", request_id);
    const ref = refGrid(games, { es: refValues(0.02, 0.2, 0.03), xs: refValues(0, 0.1, 0.02), fee: 0.005 });
    expect(done).toEqual({ status: "complete", current: ref.pairs.length * games.length, total: ref.pairs.length * games.length, current_combo: expect.stringMatching(/^entry=\d\.\d{3}, exit=\d\.\d{3}$/) });
    const results = await (await fetch(`${server.url}/api/grid-search/results/${request_id}`)).json();
    expect(results).toMatchObject({ request_id, status: "complete", games: 23 });
    expect(results.pairs).toHaveLength(ref.pairs.length);
    results.pairs.forEach((p: typeof ref.pairs[number], i: number) => {
      const r = ref.pairs[i];
      expect([p.entry, p.exit]).toEqual([r.entry, r.exit]);
      for (const s of ["train", "valid", "test"] as const) {
        expect(Math.abs(p[s].pnl - r[s].pnl)).toBeLessThan(1e-9);
        expect([p[s].trades, p[s].wins]).toEqual([r[s].trades, r[s].wins]);
      }
    });
    expect(results.final_selection).toMatchObject({ entry: ref.best.entry, exit: ref.best.exit });
    expect(Math.abs(results.final_selection.test.pnl - ref.best.test.pnl)).toBeLessThan(1e-9);
  });

  test("a simulation gives per-game results and the equity curve in game order", async () => {
    const { request_id } = await (await fetch(`${server.url}/api/simulation/run?entry=0.05&exit=0.01&fee=0.001`, { method: "POST" })).json();
    expect((await finish("simulation", request_id)).status).toBe("complete");
    const res = await (await fetch(`${server.url}/api/simulation/results/${request_id}`)).json();
    const ordered = refGameOrder(games);
    expect(res.games.map((g: { game_id: string }) => g.game_id)).toEqual(ordered.map((g) => g.id));
    let equity = 0;
    res.games.forEach((g: { pnl: number; trades: number; wins: number; equity: number }, i: number) => {
      const r = refStrategy(ordered[i], 0.05, 0.01, 0.001);
      equity += r.pnl;
      expect(Math.abs(g.pnl - r.pnl)).toBeLessThan(1e-9);
      expect([g.trades, g.wins]).toEqual([r.trades, r.wins]);
      expect(Math.abs(g.equity - equity)).toBeLessThan(1e-9);
    });
    expect(res).toMatchObject({ entry: 0.05, exit: 0.01, status: "complete" });
    expect(Math.abs(res.total.pnl - equity)).toBeLessThan(1e-9);
  });

  test("a game filter runs on just those games, in game order", async () => {
    const ids = ["rg-3", "rg-1", "rg-2"];
    const { request_id } = await (await postJson("/api/simulation/run", { entry: 0.05, exit: 0.01, games: ids })).json();
    await finish("simulation", request_id);
    const res = await (await fetch(`${server.url}/api/simulation/results/${request_id}`)).json();
    expect(res.games.map((g: { game_id: string }) => g.game_id).sort()).toEqual([...ids].sort());
    expect(res.games).toHaveLength(3);
  });

  test("unknown ids: 404 on grid progress and results, 200 not_found on simulation progress, 404 on cancel", async () => {
    const g = await fetch(`${server.url}/api/grid-search/progress/nope`);
    expect(g.status).toBe(404);
    expect(await g.json()).toEqual({ detail: "Request ID not found" });
    const s = await fetch(`${server.url}/api/simulation/progress/nope`);
    expect(s.status).toBe(200);
    expect(await s.json()).toEqual({ status: "not_found", current: 0, total: 0 });
    expect((await fetch(`${server.url}/api/grid-search/results/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/jobs/%3Cscript%3E/cancel`, { method: "POST" })).status).toBe(404);
  });

  test("invalid parameters are 422 naming the field and the rule; malformed JSON is 400", async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...GRID, entry_step: 0 }, /^entry_step: must be > 0/],
      [{ ...GRID, entry_stop: 1.5 }, /^entry_stop: must be within \[0, 1\]/],
      [{ ...GRID, fee: "abc" }, /^fee: /],
      [{ ...GRID, entry_start: null }, /^entry_start: /],
      [{ entry_start: 0.01 }, /^entry_stop: /],
      [{ ...GRID, entry_start: 0.001, entry_stop: 1, entry_step: 0.0001, exit_stop: 0.5, exit_step: 0.0001 }, /^grid: .*exceeds the maximum of 6000/],
      [{ ...GRID, entry_stop: 0.02, exit_start: 0.05, exit_stop: 0.1 }, /^grid: no pair/],
      [{ ...GRID, games: "rg-1,missing" }, /^games: unknown game id "missing"/],
      [{ ...GRID, games: [1, 2] }, /^games: must be a list/],
      [[1, 2, 3], /^body: must be a JSON object/],
    ];
    for (const [body, detail] of cases) {
      const res = await postJson("/api/grid-search/run", body);
      expect(res.status).toBe(422);
      expect((await res.json()).detail).toMatch(detail);
    }
    const sim = await postJson("/api/simulation/run", { entry: 0.05, exit: 0.05 });
    expect(sim.status).toBe(422);
    expect((await sim.json()).detail).toMatch(/^exit: /);
    const bad = await fetch(`${server.url}/api/grid-search/run`, { method: "POST", body: "{nope", headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    const huge = await fetch(`${server.url}/api/grid-search/run`, { method: "POST", body: JSON.stringify({ ...GRID, junk: "x".repeat(5_000_000) }), headers: { "content-type": "application/json" } });
    expect(huge.status).toBe(413);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  // ~5,000 pairs over ~240k ticks: a second or so of work, so the job is still running when cancelled.
  const big = { entry_start: 0.005, entry_stop: 0.5, entry_step: 0.005, exit_start: 0, exit_stop: 0.495, exit_step: 0.005 };

  test("results before completion are 409 with the status; cancel stops a queued or running job", async () => {
    await fetch(`${server.url}/api/games/demo?games=2000`, { method: "POST" });
    const first = (await (await postJson("/api/grid-search/run", big)).json()).request_id;
    const second = (await (await postJson("/api/grid-search/run", big)).json()).request_id; // queued: one runs at a time
    const c1 = await fetch(`${server.url}/api/jobs/${first}/cancel`, { method: "POST" });
    expect(c1.status).toBe(200);
    // The answer says what the cancel did: the job has left `running` by the time it comes.
    expect(await c1.json()).toEqual({ request_id: first, status: "cancelled" });
    const early = await fetch(`${server.url}/api/grid-search/results/${second}`);
    expect(early.status).toBe(409);
    expect((await early.json()).status).toMatch(/^(queued|running)$/);
    const c2 = await (await fetch(`${server.url}/api/jobs/${second}/cancel`, { method: "POST" })).json();
    expect(c2).toEqual({ request_id: second, status: "cancelled" });
    const end = await finish("grid-search", first);
    expect(end.status).toBe("cancelled");
    expect(end.current).toBeLessThan(end.total);
    expect((await finish("grid-search", second)).status).toBe("cancelled");
    const again = await fetch(`${server.url}/api/jobs/${second}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ detail: "the job is already cancelled", status: "cancelled" });
    const list = await (await fetch(`${server.url}/api/jobs`)).json();
    expect(list.jobs.map((j: { request_id: string }) => j.request_id)).toEqual([second, first]);
    expect(list.jobs[0]).toMatchObject({ kind: "grid_search", status: "cancelled" });
  });

  test("the queue is bounded: past the limit a submission is 429", async () => {
    await fetch(`${server.url}/api/games/demo?games=1000`, { method: "POST" });
    const ids: string[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await postJson("/api/grid-search/run", big);
      statuses.push(res.status);
      if (res.status === 200) ids.push((await res.json()).request_id);
      else expect((await res.json()).detail).toContain("queued");
    }
    expect(statuses).toContain(429);
    for (const id of ids) await fetch(`${server.url}/api/jobs/${id}/cancel`, { method: "POST" });
  });
});
