// What a store outage costs: a daemon on a throwaway PostgreSQL of its own (test/support/throwaway-pg.ts;
// PGlite with a fault injected at the adapter where initdb is absent), one grid search run
// uninterrupted and once across a 10 s outage.
// Usage: bun scripts/bench-faults.ts [--outage-ms 10000] [--games 2000] [--requests 400] [--mode kill|freeze]
//  1. time to a 503 while the store is away (the breaker open): p50/p99 of a loopback GET
//     /api/jobs, goal p99 < 100 ms; the first calls that meet the outage (before it opens) are
//     reported apart: they wait up to --store-timeout-ms by design.
//  2. the wall time a 10 s outage adds to a job beyond the 10 s.
//  3. peak memory held while buffering: RSS over the run before, and the buffered units' bytes.
//  4. (the publish rate with performance history recording on vs off is scripts/bench-history.ts;
//     a line for it goes at "publish rate" below when the two are joined.)
// Client and server share this process (the server is in-process, as in the tests): the figures
// include the client's own time, so they overstate what a separate client would see.
import { parseArgs } from "node:util";
import type { Database } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { postgresDatabase } from "../src/db/postgres";
import type { RunningServer } from "../src/server/lifecycle";
import { freshDatabase } from "../test/support/db";
import { startTestServer, stopTestServer } from "../test/support/server";
import { throwawayPostgres, type ThrowawayPostgres } from "../test/support/throwaway-pg";

const { values: args } = parseArgs({
  options: {
    "outage-ms": { type: "string", default: "10000" },
    games: { type: "string", default: "2000" },
    requests: { type: "string", default: "400" },
    mode: { type: "string", default: "freeze" },
  },
});
const OUTAGE_MS = Number(args["outage-ms"]);
const GAMES = Number(args.games);
const REQUESTS = Number(args.requests);
const MODE = args.mode === "kill" ? "kill" : "freeze";
// The daemon's defaults but a shorter open window, so the job is back within ~1 s of the store.
const BREAKER = { failuresToOpen: 3, openMs: 1000, slowMs: 2000, timeoutMs: 2000 };
const GRID = { entry_start: 0.0025, entry_stop: 0.5, entry_step: 0.0025, exit_start: 0, exit_stop: 0.3, exit_step: 0.005 };

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
const mib = (b: number) => `${(b / 1024 ** 2).toFixed(1)} MiB`;

async function jobStatus(server: RunningServer, id: string): Promise<string> {
  return (await (await fetch(`${server.url}/api/grid-search/progress/${id}`)).json()).status;
}

async function submit(server: RunningServer): Promise<string> {
  const res = await fetch(`${server.url}/api/grid-search/run`, { method: "POST", body: JSON.stringify(GRID), headers: { "content-type": "application/json" } });
  return (await res.json()).request_id;
}

/** Waits for the job's end from the scheduler's own snapshot (no HTTP while the store is away). */
async function finished(server: RunningServer, id: string): Promise<string> {
  for (;;) {
    const s = server.scheduler.snapshot(id)?.status;
    if (s && s !== "running" && s !== "queued") return s;
    await Bun.sleep(20);
  }
}

async function timedJob(server: RunningServer): Promise<number> {
  const started = performance.now();
  const id = await submit(server);
  const status = await finished(server, id);
  if (status !== "complete") throw new Error(`the job ended ${status}`);
  return performance.now() - started;
}

async function main() {
  let pg: ThrowawayPostgres | undefined;
  try {
    pg = throwawayPostgres();
  } catch (err) {
    console.log(`no throwaway PostgreSQL (${(err as Error).message}); PGlite with an injected fault`);
  }
  let database: Database;
  if (pg) {
    database = await postgresDatabase(pg.url, { max: 10, breaker: BREAKER });
    await migrate(database.db);
  } else {
    database = await freshDatabase("pglite");
    database.breaker.options = BREAKER;
  }
  const kind = pg ? `postgres (${MODE})` : "pglite (injected refusal)";
  const down = () => (pg ? (MODE === "kill" ? pg.kill() : pg.freeze()) : database.breaker.injectFault("refuse"));
  const up = () => (pg ? (MODE === "kill" ? pg.start() : pg.thaw()) : database.breaker.injectFault(undefined));
  const server = await startTestServer({ database, flags: ["--store-buffer-units", "1024"] });
  try {
    await fetch(`${server.url}/api/games/demo?games=${GAMES}&seed=3`, { method: "POST" });
    await timedJob(server); // warm: workers, the game store cache
    const baseline = Math.min(await timedJob(server), await timedJob(server));
    console.log(`== ${kind}: ${GAMES} games, job uninterrupted ${ms(baseline)} (best of 2)`);

    // A job across the outage, with requests timed while the store is away.
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    const started = performance.now();
    const id = await submit(server);
    while (!((server.scheduler.snapshot(id)?.current ?? 0) > 0)) await Bun.sleep(5);
    down();
    const wentDown = performance.now();
    const first: number[] = [];
    const open: number[] = [];
    const statuses = new Map<number, number>();
    while (performance.now() - wentDown < OUTAGE_MS) {
      // Refused by the breaker, or sent on to the store (before it opened, or as a probe)?
      const refused = database.breaker.refusing;
      const t = performance.now();
      const res = await fetch(`${server.url}/api/jobs`);
      await res.arrayBuffer();
      const took = performance.now() - t;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      (refused ? open : first).push(took);
      if (open.length >= REQUESTS) await Bun.sleep(20); // enough samples: keep the outage, not the load
    }
    up();
    const back = performance.now();
    let caughtUp = NaN; // the store back to every held unit written and the workers handed units again
    const catchUp = setInterval(() => {
      const b = server.scheduler.bufferStats();
      if (Number.isNaN(caughtUp) && b.units === 0 && !b.paused) caughtUp = performance.now() - back;
    }, 5);
    const status = await finished(server, id);
    clearInterval(catchUp);
    const wall = performance.now() - started;
    clearInterval(sampler);
    const buffered = server.scheduler.bufferStats();
    open.sort((a, b) => a - b);
    console.log(`time to a 503 with the breaker open (${open.length} requests; statuses ${[...statuses].map(([s, n]) => `${s}x${n}`).join(" ")}):`);
    console.log(`  p50 ${ms(pct(open, 50))}  p99 ${ms(pct(open, 99))}  max ${ms(open.at(-1) ?? NaN)}  (goal p99 < 100 ms)`);
    console.log(`  the ${first.length} calls that went on to the store (before it opened, and the probes): max ${ms(Math.max(...first))} (bounded by --store-timeout-ms ${BREAKER.timeoutMs})`);
    // Below zero: the workers kept computing through part of the outage (up to the buffer's bound).
    console.log(`job across a ${OUTAGE_MS / 1000} s outage: ${status}, ${ms(wall)}: ${ms(wall - baseline)} longer than uninterrupted, ` +
      `${ms(wall - baseline - OUTAGE_MS)} beyond the outage itself`);
    console.log(`  from the store's return to every held unit written and the workers going again: ${ms(caughtUp)}`);
    console.log(`buffering: peak ${buffered.peakUnits} units, ${mib(buffered.peakBytes)} of unit payloads; RSS peak ${mib(rssPeak)} (+${mib(rssPeak - rssBefore)} over the run before)`);
    // publish rate: with performance history recording on vs off, see scripts/bench-history.ts.
  } finally {
    await stopTestServer(server);
    await database.close().catch(() => {});
    pg?.destroy();
  }
}

await main();
process.exit(0);
