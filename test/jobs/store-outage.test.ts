// A grid search across a ~10 s outage of PostgreSQL (a server of the test's own, killed with
// `pg_ctl stop -m immediate` and started again; or frozen with SIGSTOP/SIGCONT): the job completes
// with exactly the results of an uninterrupted run of it, the API answers 503 with Retry-After
// quickly all along, progress keeps arriving over the job's socket, ingest during the outage is
// refused and every acknowledged tick is there afterwards. Then the same job on PGlite across a
// fault injected at the adapter.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { postgresDatabase } from "../../src/db/postgres";
import type { RunningServer } from "../../src/server/lifecycle";
import { freshDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { startTestServer, stopTestServer } from "../support/server";
import { throwawayPostgres, throwawayUnavailable, type ThrowawayPostgres } from "../support/throwaway-pg";

const BREAKER = { failuresToOpen: 2, openMs: 500, slowMs: 1500, timeoutMs: 400 };
const OUTAGE_MS = 10_000;
// ~600 units over 800 games: a few seconds of compute, so the outage starts mid-job.
const GRID = { entry_start: 0.0025, entry_stop: 0.5, entry_step: 0.0025, exit_start: 0, exit_stop: 0.3, exit_step: 0.005 };
type Progress = { status: string; current: number; total: number };

async function startOn(database: Database): Promise<RunningServer> {
  const server = await startTestServer({ database, flags: ["--tick-ms", "20", "--store-buffer-units", "128"] });
  const demo = await fetch(`${server.url}/api/games/demo?games=800&seed=7`, { method: "POST" });
  expect(demo.status).toBe(200);
  return server;
}

async function submit(server: RunningServer): Promise<string> {
  const res = await fetch(`${server.url}/api/grid-search/run`, { method: "POST", body: JSON.stringify(GRID), headers: { "content-type": "application/json" } });
  expect(res.status).toBe(200);
  return (await res.json()).request_id;
}

/** The results' body with the job's own id taken out: what two runs of one job must share. */
async function results(server: RunningServer, id: string): Promise<string> {
  const res = await fetch(`${server.url}/api/grid-search/results/${id}`);
  expect(res.status).toBe(200);
  return (await res.text()).replaceAll(id, "ID");
}

async function uninterrupted(server: RunningServer): Promise<string> {
  const id = await submit(server);
  await eventually(async () => (await (await fetch(`${server.url}/api/grid-search/progress/${id}`)).json()).status === "complete",
    { what: "the reference job complete", timeoutMs: 30_000, intervalMs: 100 });
  return results(server, id);
}

function watch(server: RunningServer, id: string) {
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws/grid-search/${id}`);
  const progress: { at: number; p: Progress }[] = [];
  let pongs = 0;
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data));
    if (m.type === "progress") progress.push({ at: performance.now(), p: m.progress });
    if (m.type === "pong") pongs++;
  };
  const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
  return { ws, progress, closed, pongs: () => pongs };
}

/** Ticks of one game, one a request; `acked` holds those the server said 200 to. */
function producer(server: RunningServer, game: string) {
  let t = 0;
  const acked: number[] = [];
  const refused: number[] = [];
  return {
    game,
    acked,
    refused,
    async send(): Promise<Response> {
      const tick = ++t;
      const res = await fetch(`${server.url}/api/live/ticks`, {
        method: "POST", headers: { "content-type": "application/x-ndjson" },
        body: `${JSON.stringify({ game_id: game, t: tick, price: 0.5, fair: 0.5 })}\n`,
      });
      if (res.status === 200) acked.push(tick);
      else {
        refused.push(tick);
        t--; // a producer sends a refused tick again
      }
      await res.body?.cancel();
      return res;
    },
  };
}

/**
 * Runs the job across `outage` (which takes the store away and returns a function that brings it
 * back) and checks everything a client would see meanwhile and after.
 */
async function acrossOutage(server: RunningServer, reference: string, down: () => void, up: () => void) {
  const ticks = producer(server, `g-${crypto.randomUUID().slice(0, 8)}`);
  for (let i = 0; i < 3; i++) expect((await ticks.send()).status).toBe(200);
  const id = await submit(server);
  const socket = watch(server, id);
  await eventually(() => socket.progress.some((m) => m.p.status === "running" && m.p.current > 0), { what: "the job running", timeoutMs: 20_000 });
  const before = socket.progress.at(-1)!.p.current;
  down();
  const wentDown = performance.now();
  const slowest = { api: 0, ingest: 0 };
  let answered = 0;
  while (performance.now() - wentDown < OUTAGE_MS) {
    let started = performance.now();
    const res = await fetch(`${server.url}/api/jobs`);
    slowest.api = Math.max(slowest.api, performance.now() - started);
    expect(res.status).toBe(503);
    const retry = Number(res.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toEqual({ detail: "database unavailable", retry_after: retry });
    started = performance.now();
    expect((await ticks.send()).status).toBe(503);
    slowest.ingest = Math.max(slowest.ingest, performance.now() - started);
    socket.ws.send(JSON.stringify({ type: "ping" }));
    answered++;
    await Bun.sleep(100); // pacing the probe requests, not waiting for an outcome
  }
  const health = await (await fetch(`${server.url}/health`)).json();
  expect(health.status).toBe("degraded");
  expect(health.services.database.healthy).toBe(false);
  expect(["open", "half_open"]).toContain(health.services.database.breaker.state);
  // Progress went on while the store was away, and the socket stayed open and answering.
  const during = socket.progress.filter((m) => m.at > wentDown);
  expect(during.some((m) => m.p.current > before)).toBe(true);
  expect(during.every((m) => m.p.status === "running")).toBe(true);
  expect(socket.ws.readyState).toBe(WebSocket.OPEN);
  expect(socket.pongs()).toBeGreaterThan(answered / 2);
  expect(slowest.api).toBeLessThan(1000);
  expect(slowest.ingest).toBeLessThan(1000);
  up();
  // Back without a restart: the job ends complete and the socket closes as after any job.
  expect((await socket.closed).code).toBe(1000);
  expect(socket.progress.at(-1)!.p).toMatchObject({ status: "complete" });
  expect(await results(server, id)).toBe(reference);
  await eventually(async () => (await ticks.send()).status === 200, { what: "ingest accepted again", timeoutMs: 10_000 });
  const games = await (await fetch(`${server.url}/api/live/games`)).json();
  const game = games.games.find((g: { game_id: string }) => g.game_id === ticks.game);
  // Every acknowledged tick stored, and nothing else: the game holds exactly those, the last one last.
  expect(game).toMatchObject({ ticks: ticks.acked.length, t: ticks.acked.at(-1) });
  expect(ticks.refused.length).toBeGreaterThan(0);
  const after = await (await fetch(`${server.url}/health`)).json();
  expect(after.status).toBe("ok");
}

const why = throwawayUnavailable();
if (why) test.skip(why, () => {});

describe.skipIf(!!why)("a store outage on PostgreSQL", () => {
  let pg: ThrowawayPostgres;
  let database: Database;
  let server: RunningServer;
  let reference: string;
  beforeAll(async () => {
    pg = throwawayPostgres()!;
    database = await postgresDatabase(pg.url, { max: 4, breaker: BREAKER });
    await migrate(database.db);
    server = await startOn(database);
    reference = await uninterrupted(server);
  }, 60_000);
  afterAll(async () => {
    await stopTestServer(server);
    await database.close().catch(() => {});
    pg.destroy();
  });

  test("killed (pg_ctl stop -m immediate) for 10 s and started again", async () => {
    await acrossOutage(server, reference, () => pg.kill(), () => pg.start());
  }, 60_000);

  test("frozen (SIGSTOP of the postmaster and its children) for 10 s, then SIGCONT", async () => {
    await acrossOutage(server, reference, () => pg.freeze(), () => pg.thaw());
  }, 60_000);
});

describe("a store outage on PGlite (a fault injected at the adapter)", () => {
  let database: Database;
  let server: RunningServer;
  beforeAll(async () => {
    database = await freshDatabase("pglite");
    database.breaker.options = BREAKER;
    server = await startOn(database);
  }, 120_000);
  afterAll(async () => {
    database.breaker.injectFault(undefined);
    await stopTestServer(server);
    await database.close();
  });

  test("connections refused for 10 s, then answered again", async () => {
    const reference = await uninterrupted(server);
    await acrossOutage(server, reference, () => database.breaker.injectFault("refuse"), () => database.breaker.injectFault(undefined));
  }, 60_000);
});
