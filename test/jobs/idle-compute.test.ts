// --compute-idle-ms: once no job has run for that long the daemon stops its workers and drops the
// games it kept for the next job (what /metrics shows), and the next job brings both back with
// the same results.
import { afterEach, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/lifecycle";
import { parseArgs, resolveConfig, ConfigError } from "../../src/config/resolve";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { randomGames } from "../support/reference";
import { startTestServer, stopTestServer } from "../support/server";

const { csv } = randomGames(30, 3);
const GRID = { entry_start: 0.02, entry_stop: 0.2, entry_step: 0.03, exit_start: 0, exit_stop: 0.1, exit_step: 0.02, fee: 0.005 };

/** gridcast_collected and worker gauges from /metrics. */
async function figures(server: RunningServer): Promise<{ store: number; parked: number; alive: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  return {
    store: num(/^gridcast_collected\{key="memory_game_store_bytes"\} (\S+)$/m),
    parked: num(/^gridcast_workers_parked (\S+)$/m),
    alive: num(/^gridcast_workers_alive (\S+)$/m),
  };
}

forEachDatabase("idle compute", (db) => {
  let server: RunningServer;
  afterEach(() => stopTestServer(server));

  async function gridResults(): Promise<unknown> {
    const run = await fetch(`${server.url}/api/grid-search/run`, { method: "POST", body: JSON.stringify(GRID), headers: { "content-type": "application/json" } });
    const { request_id } = await run.json();
    await eventually(async () => (await (await fetch(`${server.url}/api/grid-search/progress/${request_id}`)).json()).status === "complete",
      { timeoutMs: 20_000, intervalMs: 20, what: "the grid search to complete" });
    const results = await (await fetch(`${server.url}/api/grid-search/results/${request_id}`)).json();
    return results.pairs;
  }

  test("after --compute-idle-ms the workers are parked and the kept store dropped; the next job gives the same results", async () => {
    server = await startTestServer({ database: db(), flags: ["--workers", "2", "--compute-idle-ms", "200"] });
    expect((await fetch(`${server.url}/api/games/import`, { method: "POST", body: csv, headers: { "content-type": "text/csv" } })).status).toBe(200);
    const first = await gridResults();
    await eventually(async () => {
      const f = await figures(server);
      return f.parked === 2 && f.store === 0 && f.alive === 2;
    }, { what: "the workers parked and the store dropped" });
    // /health still calls the pool healthy: parked workers are not dead ones.
    expect((await (await fetch(`${server.url}/health`)).json()).services.workers).toMatchObject({ healthy: true, parked: 2 });
    expect(await gridResults()).toEqual(first);
  }, 60_000);

  test("without the idle delay (0) the store stays kept and the workers up", async () => {
    server = await startTestServer({ database: db(), flags: ["--workers", "1", "--compute-idle-ms", "0"] });
    expect((await fetch(`${server.url}/api/games/import`, { method: "POST", body: csv, headers: { "content-type": "text/csv" } })).status).toBe(200);
    await gridResults();
    const f = await figures(server);
    expect(f.parked).toBe(0);
    expect(f.store).toBeGreaterThan(0);
  }, 60_000);
});

test("--compute-idle-ms is 30 s unless set, from 0 (never) to a day", () => {
  const resolve = (argv: string[], env: Record<string, string> = {}) => resolveConfig(parseArgs(argv), env);
  expect(resolve(["serve"]).computeIdleMs).toBe(30_000);
  expect(resolve(["serve", "--compute-idle-ms", "0"]).computeIdleMs).toBe(0);
  expect(resolve(["serve"], { GRIDCAST_COMPUTE_IDLE_MS: "5000" }).computeIdleMs).toBe(5000);
  expect(() => resolve(["serve", "--compute-idle-ms", "-1"])).toThrow(ConfigError);
});
