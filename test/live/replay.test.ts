// Replays (live.md "Ingest"): stored games fed again through ingestTicks as live games named
// prefix + id, paced by their t gaps over speed (a fake clock here: no test waits), each settled
// into a stored game with its ticks; the signals they cause add up, per game, to a simulation of
// the same pair on the original games; a cancelled replay stops; bad requests and taken ids are
// refused before anything is fed; a viewer cannot replay; `gridcast feed replay` needs --server.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { liveGames } from "../../src/db/schema";
import { importGames } from "../../src/games/import";
import { demoCsv } from "../../src/games/demo";
import { gameIdsInOrder, loadGames, type StoredGame } from "../../src/games/repository";
import { ingestTicks } from "../../src/live/ingest";
import { OPEN_IDENTITY } from "../../src/access/roles";
import { Replays, type ReplayTick } from "../../src/live/replay";
import { settleGame } from "../../src/live/settle";
import type { Database } from "../../src/db/database";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) await stopTestServer(server);
  server = undefined;
});

async function loadDemo(database: Database, games: number, seed: number): Promise<StoredGame[]> {
  await importGames(database, demoCsv({ games, seed }), { format: "csv", synthetic: true, limits: { maxBytes: 1e9, maxGames: 1e5, maxTicksPerGame: 1e6 } });
  const out: StoredGame[] = [];
  for await (const part of loadGames(database, (await gameIdsInOrder(database)).ids)) out.push(...part);
  return out;
}

/** A clock that moves only when the replay sleeps; every sleep is recorded. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

forEachDatabase("replay feed", (db) => {
  test("every tick goes through the ingest, paced by t gaps over speed, and each game settles into a stored game with its ticks", async () => {
    const source = await loadDemo(db(), 3, 2);
    const time = fakeTime();
    const calls: number[] = [];
    const replays = new Replays({
      database: db,
      ingest: (d, ticks: ReplayTick[], at) => {
        calls.push(ticks.length);
        return ingestTicks(d, ticks, at);
      },
      settle: (d, id, outcome, at) => settleGame(d, id, outcome, at),
      now: time.now,
      sleep: time.sleep,
    });
    const started = await replays.start({ games: source.map((g) => g.id), speed: 4, prefix: "r-" }, null);
    expect(started).toMatchObject({ status: "running", games: source.map((g) => `r-${g.id}`), speed: 4 });
    // One ingest call per second of game time: hundreds of commits, which a loaded machine takes a while over.
    const done = await eventually(() => replays.get(started.replay_id)?.status !== "running" && replays.get(started.replay_id)!, { timeoutMs: 60_000 });
    const total = source.reduce((s, g) => s + g.t.length, 0);
    expect(done).toMatchObject({ status: "complete", ticks: total, total_ticks: total, settled: 3, error: null });

    // Demo ticks are 1 s apart from each game's first: one ingest call per second of game time
    // (all games tick together), and the sleeps add up to the longest game over speed.
    const longest = Math.max(...source.map((g) => g.t[g.t.length - 1] - g.t[0]));
    expect(calls).toHaveLength(longest + 1);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(total);
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBeCloseTo((longest / 4) * 1000, 6);
    expect(time.sleeps.every((ms) => Math.abs(ms - 250) < 1e-6)).toBe(true);

    const replayed: StoredGame[] = [];
    for await (const part of loadGames(db(), source.map((g) => `r-${g.id}`))) replayed.push(...part);
    expect(replayed.map((g) => [g.id, g.outcome, [...g.t], [...g.price], [...g.fair]]))
      .toEqual(source.map((g) => [`r-${g.id}`, g.outcome, [...g.t], [...g.price], [...g.fair]]));
  }, 90_000);

  test("a replay cancelled mid-way stops after the batch in flight: its games stay live where they were, none is settled", async () => {
    const source = await loadDemo(db(), 2, 4);
    let wake: (() => void) | undefined;
    let sleeps = 0;
    const replays = new Replays({
      database: db,
      ingest: (d, ticks, at) => ingestTicks(d, ticks, at),
      settle: (d, id, outcome, at) => settleGame(d, id, outcome, at),
      now: () => 0,
      // Never wakes on its own: only the cancel's abort ends it.
      sleep: (_ms, signal) => new Promise<void>((resolve) => {
        sleeps++;
        wake = resolve;
        signal.addEventListener("abort", () => resolve(), { once: true });
      }),
    });
    const started = await replays.start({ count: 2, speed: 1, prefix: "c-" }, null);
    await eventually(() => sleeps === 1, { what: "the replay to wait for its second tick" });
    const cancelled = await replays.cancel(started.replay_id, OPEN_IDENTITY);
    expect(cancelled).toMatchObject({ status: "cancelled", ticks: 2, settled: 0 });
    wake?.();
    const live = await db().db.select().from(liveGames);
    expect(live.map((g) => [g.id, g.tickCount, g.settledAt]).sort()).toEqual(source.map((g) => [`c-${g.id}`, 1, null]).sort());
    await expect(replays.cancel(started.replay_id, OPEN_IDENTITY)).rejects.toThrow("the replay is already cancelled");
    await expect(replays.cancel("nope", OPEN_IDENTITY)).rejects.toThrow("Replay not found");
  });
});

interface Sig { pnl: number | null; action: string }

forEachDatabase("replay API", (db) => {
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server!.url}${path}`, {
      method, redirect: "manual", body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    });
  const replayDone = (id: string) => eventually(async () => {
    const res = await call("GET", `/api/live/replay/${id}`);
    const s = await res.json();
    expect(res.status).toBe(200);
    return s.status !== "running" && s;
  }, { timeoutMs: 20_000, what: `replay ${id} to finish` });

  test("replayed demo games settle into stored games prefix+id, and per game the signals add up to a simulation of the same pair to 1e-9", async () => {
    server = await startTestServer({ database: db(), flags: ["--workers", "1"] });
    expect((await call("POST", "/api/games/demo?games=6&seed=9")).status).toBe(200);
    const stored = (await (await call("GET", "/api/games?per_page=100")).json()).games as { id: string; ticks: number }[];
    const ids = stored.slice(0, 4).map((g) => g.id);
    const pair = { entry: 0.04, exit: 0.01, fee: 0.001 };
    const strategy = (await (await call("POST", "/api/strategies", { name: "replayed", ...pair })).json()).id;

    const res = await call("POST", "/api/live/replay", { games: ids, speed: 1e6, prefix: "replay-" });
    expect(res.status).toBe(202);
    const started = await res.json();
    const replayId = started.replay_id;
    expect(replayId).toMatch(/^[0-9a-f-]{36}$/);
    expect(started.games).toEqual(ids.map((id) => `replay-${id}`));
    expect((await replayDone(replayId)).status).toBe("complete");

    const after = (await (await call("GET", "/api/games?per_page=100")).json()).games as { id: string; ticks: number; outcome: number }[];
    for (const id of ids) {
      expect(after.find((g) => g.id === `replay-${id}`)?.ticks).toBe(stored.find((g) => g.id === id)!.ticks);
    }
    expect((await (await call("GET", "/api/live/games")).json()).games ?? []).toEqual([]);

    const sim = (await (await call("POST", "/api/simulation/run", { ...pair, games: ids })).json()).request_id;
    await eventually(async () => (await (await call("GET", `/api/simulation/progress/${sim}`)).json()).status === "complete", { timeoutMs: 20_000 });
    const results = (await (await call("GET", `/api/simulation/results/${sim}`)).json()).games as { game_id: string; pnl: number; trades: number; wins: number }[];
    expect(results).toHaveLength(4);
    let tradesSeen = 0;
    for (const r of results) {
      const signals = (await (await call("GET", `/api/signals?strategy=${strategy}&game=replay-${r.game_id}&limit=1000`)).json()).signals as Sig[];
      const trades = signals.filter((s) => s.action === "close" || s.action === "settle");
      const pnl = trades.reduce((t, s) => t + s.pnl!, 0);
      expect({ game: r.game_id, trades: trades.length, wins: trades.filter((s) => s.pnl! > 0).length }).toEqual({ game: r.game_id, trades: r.trades, wins: r.wins });
      expect(Math.abs(pnl - r.pnl)).toBeLessThan(1e-9);
      tradesSeen += trades.length;
    }
    expect(tradesSeen).toBeGreaterThan(0);
    const totals = await (await call("GET", `/api/strategies/${strategy}`)).json();
    expect(totals).toMatchObject({ trades: tradesSeen, open_positions: 0, games: 4 });
    expect(Math.abs(totals.pnl - results.reduce((t, r) => t + r.pnl, 0))).toBeLessThan(1e-9);

    // The same targets again: refused up front (409), nothing fed.
    const again = await call("POST", "/api/live/replay", { games: ids, speed: 1e6, prefix: "replay-" });
    expect(again.status).toBe(409);
    expect((await again.json()).detail).toContain("exists already");
    const onStored = await call("POST", "/api/live/replay", { games: [ids[0]], prefix: "" });
    expect(onStored.status).toBe(409);
  });

  test("bad replay requests are a 4xx naming the field, nothing is fed, and the server still answers", async () => {
    server = await startTestServer({ database: db() });
    expect((await call("POST", "/api/games/demo?games=2&seed=1")).status).toBe(200);
    const cases: [unknown, number, string][] = [
      ["{nope", 400, "malformed"],
      ["[]", 422, "body: must be a JSON object"],
      [{}, 422, "games: give either games"],
      [{ count: 1, games: ["synthetic-0001"] }, 422, "games: give either games"],
      [{ count: 0 }, 422, "count: must be an integer from 1 to 1000"],
      [{ count: 1.5 }, 422, "count: must be an integer"],
      [{ count: "2" }, 422, "count: must be an integer"],
      [{ count: 1, speed: 0 }, 422, "speed: must be a number from 0.01 to 1000000"],
      [{ count: 1, speed: 1e7 }, 422, "speed"],
      [{ count: 1, speed: "fast" }, 422, "speed"],
      [{ count: 1, prefix: 7 }, 422, "prefix: must be a string"],
      [{ count: 1, prefix: "=" }, 422, "prefix: the live game id"],
      [{ count: 1, prefix: "a\u0000" }, 422, "prefix: the live game id"],
      [{ count: 1, prefix: "x".repeat(101) }, 422, "prefix: must be at most 100"],
      [{ games: [] }, 422, "games: must name at least one"],
      [{ games: "synthetic-0001" }, 422, "games: must be a list"],
      [{ games: [1] }, 422, "games: must be a game id"],
      [{ games: ["a\u0000"] }, 422, "games: game id"],
      [{ games: ["no-such-game"] }, 404, "games: no stored game \"no-such-game\""],
    ];
    for (const [body, status, detail] of cases) {
      const res = await call("POST", "/api/live/replay", body);
      expect({ body, status: res.status }).toEqual({ body, status });
      expect((await res.json()).detail).toContain(detail);
    }
    expect((await (await call("GET", "/api/live/games")).json()).games ?? []).toEqual([]);
    expect((await call("GET", "/api/live/replay/nope")).status).toBe(404);
    expect((await call("POST", "/api/live/replay/nope/cancel")).status).toBe(404);
    expect((await call("GET", "/health")).status).toBe(200);
  });

  test("a replay cancelled over the API stops: its games stay live and unsettled, a second cancel is 409", async () => {
    server = await startTestServer({ database: db() });
    expect((await call("POST", "/api/games/demo?games=2&seed=3")).status).toBe(200);
    // Real time at speed 1: the games' 120+ ticks would take minutes; the test cancels at once.
    const started = await (await call("POST", "/api/live/replay", { count: 2, speed: 1, prefix: "slow-" })).json();
    const res = await call("POST", `/api/live/replay/${started.replay_id}/cancel`);
    expect(res.status).toBe(200);
    const cancelled = await res.json();
    expect(cancelled).toMatchObject({ status: "cancelled", settled: 0 });
    expect(cancelled.ticks).toBeLessThan(cancelled.total_ticks);
    const live = await db().db.select().from(liveGames);
    expect(live.every((g) => g.settledAt === null)).toBe(true);
    expect(live.reduce((s, g) => s + g.tickCount, 0)).toBe(cancelled.ticks);
    const second = await call("POST", `/api/live/replay/${started.replay_id}/cancel`);
    expect(second.status).toBe(409);
    expect((await (await call("GET", `/api/live/replay/${started.replay_id}`)).json()).status).toBe("cancelled");
  });
});

forEachDatabase("replay with auth on", (db) => {
  test("a viewer cannot replay or deploy (403); an operator replays; only its owner or an admin cancels it", async () => {
    server = await startAuthServer({ database: db() });
    const admin = { authorization: (await makeToken(server, "admin")).bearer };
    const viewer = { authorization: (await makeToken(server, "viewer")).bearer };
    const alice = { authorization: (await makeToken(server, "operator", { name: "alice" })).bearer };
    const bob = { authorization: (await makeToken(server, "operator", { name: "bob" })).bearer };
    const call = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
      fetch(`${server!.url}${path}`, { method, headers: { ...headers, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect((await call("POST", "/api/games/demo?games=2&seed=3", admin)).status).toBe(200);

    const byViewer = await call("POST", "/api/live/replay", viewer, { count: 1, speed: 1e6 });
    expect(byViewer.status).toBe(403);
    expect(await byViewer.json()).toEqual({ detail: "requires role operator" });
    expect((await call("POST", "/api/strategies", viewer, { name: "v", entry: 0.05, exit: 0.01 })).status).toBe(403);
    expect((await (await call("GET", "/api/games", admin)).json()).total).toBe(2);

    const started = await call("POST", "/api/live/replay", alice, { count: 2, speed: 1 });
    expect(started.status).toBe(202);
    const { replay_id } = await started.json();
    expect((await (await call("GET", `/api/live/replay/${replay_id}`, viewer)).json()).created_by).toBe("alice");
    const refused = await call("POST", `/api/live/replay/${replay_id}/cancel`, bob);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ detail: "requires role admin" });
    expect((await call("POST", `/api/live/replay/${replay_id}/cancel`, alice)).status).toBe(200);
  });
});

const MAIN = join(import.meta.dir, "../../src/main.ts");
const feed = async (args: string[]) => {
  const p = Bun.spawn([process.execPath, MAIN, "feed", ...args], { env: { ...process.env, DATABASE_URL: "", GRIDCAST_TOKEN: "" }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
};

forEachDatabase("gridcast feed replay", (db) => {
  test("needs --server (exit 2, saying so); bad flags exit 2; through a daemon it starts the replay (exit 0), a refusal exits 1", async () => {
    const alone = await feed(["replay", "--count", "2"]);
    expect(alone.code).toBe(2);
    expect(alone.err).toContain("feed replay needs --server URL");
    expect((await feed(["replay", "--count", "2", "--ids", "a", "--server", "http://127.0.0.1:1"])).code).toBe(2);
    expect((await feed(["replay", "--speed", "0", "--server", "http://127.0.0.1:1"])).code).toBe(2);
    expect((await feed(["nope"])).code).toBe(2);

    server = await startTestServer({ database: db() });
    expect((await fetch(`${server.url}/api/games/demo?games=2&seed=1`, { method: "POST" })).status).toBe(200);
    const ok = await feed(["replay", "--ids", "synthetic-0001,synthetic-0002", "--speed", "1000000", "--prefix", "cli-", "--server", server.url]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^replay [0-9a-f-]{36} started: 2 games \(cli-synthetic-0001, cli-synthetic-0002\)/);
    await eventually(async () => (await (await fetch(`${server!.url}/api/games?per_page=10`)).json()).total === 4, { what: "the replayed games to be stored" });
    const taken = await feed(["replay", "--ids", "synthetic-0001", "--prefix", "cli-", "--server", server.url]);
    expect(taken.code).toBe(1);
    expect(taken.err).toContain("409");
  });
});
