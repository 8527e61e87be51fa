// Jobs shared by the nodes of a cluster (cluster.md), in one process: two or three schedulers with
// their own pools on one PostgreSQL database, joined by in-memory buses. The job's units are claimed
// by every node, the results are those of a single node, bit for bit; a cancel from a node that does
// not run the job stops it; a dead owner's job is adopted, a dead helper's claims are taken back.
import { afterEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { ClusterJobs } from "../../src/cluster/cluster-jobs";
import { createPool, type Pool } from "../../src/compute/pool";
import { postgresDatabase } from "../../src/db/postgres";
import type { Database } from "../../src/db/database";
import { demoCsv } from "../../src/games/demo";
import { importGames } from "../../src/games/import";
import { gameIdsInOrder } from "../../src/games/repository";
import { gridPlan } from "../../src/jobs/plan";
import * as repo from "../../src/jobs/repository";
import { JobScheduler, type JobSnapshot } from "../../src/jobs/scheduler";
import { GameStoreCache } from "../../src/jobs/stores";
import { createLogger, silentLogger } from "../../src/log/logger";
import { systemClock } from "../../src/realtime/transport";
import { freshDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { memoryBuses } from "../support/memory-bus";

const PARAMS = { entry_start: 0.002, entry_stop: 0.2, entry_step: 0.002, exit_start: 0, exit_stop: 0.1, exit_step: 0.002, fee: 0, train_fraction: 0.6, valid_fraction: 0.2 };
const GAMES = 800;
const LEASE_MS = 10_000;

interface Node {
  id: string;
  pool: Pool;
  scheduler: JobScheduler;
  cluster: ClusterJobs;
  published: Array<{ id: string; s: JobSnapshot }>;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (open.length) await open.pop()!().catch(() => {});
});

async function database(kind: "pglite" | "postgres"): Promise<Database & { url?: string }> {
  const db = await freshDatabase(kind);
  open.push(() => db.close());
  await importGames(db, demoCsv({ games: GAMES, seed: 7 }), { format: "csv", synthetic: true, limits: { maxBytes: 1e9, maxGames: 1e5, maxTicksPerGame: 1e6 } });
  return db;
}

/** Nodes' rows renewed as their registries would (every 500 ms), until the test ends or `die(id)`. */
function heartbeats(db: Database, ids: string[]) {
  const alive = new Set(ids);
  const beat = () => Promise.all([...alive].map((id) => heartbeat(db, id)));
  const timer = setInterval(() => void beat().catch(() => {}), 500);
  open.push(async () => clearInterval(timer));
  return {
    ready: beat(),
    /** The node stops beating, and its last heartbeat is older than the lease. */
    async die(id: string) {
      alive.delete(id);
      await heartbeat(db, id, Date.now() - 2 * LEASE_MS);
    },
  };
}

async function heartbeat(db: Database, id: string, at = Date.now()) {
  await db.rows(sql`insert into nodes (id, instance, host, port, started_at, last_heartbeat, workers, busy, version)
    values (${id}, ${id}, '127.0.0.1', 1, ${at}, ${at}, 1, 0, 'test')
    on conflict (id) do update set last_heartbeat = excluded.last_heartbeat`);
}

/** A node: its own connections to the test's database (as a daemon has), pool, scheduler and cluster link. */
async function node(shared: Database & { url?: string }, buses: ReturnType<typeof memoryBuses> | undefined, id: string): Promise<Node> {
  const db = shared.url ? await postgresDatabase(shared.url, { max: 4 }) : shared;
  if (db !== shared) open.push(() => db.close());
  const pool = createPool({ size: 1 });
  const stores = new GameStoreCache(() => db);
  const bus = buses?.bus(id);
  const logger = process.env.DEBUG_CLUSTER ? createLogger({ format: "text", level: "debug" }, { node: id }) : silentLogger;
  const cluster = bus && new ClusterJobs({
    database: () => db, bus: () => bus, clock: systemClock, leaseMs: LEASE_MS, pollMs: 250, pool, stores, logger,
  });
  const published: Node["published"] = [];
  const scheduler = new JobScheduler({
    database: () => db, pool, stores, logger, maxRunning: 2, maxQueued: 10,
    publish: (jobId, s) => published.push({ id: jobId, s: { ...s } }), ...(cluster ? { cluster } : {}),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await scheduler.stop();
    await pool.close();
  };
  open.push(stop);
  return { id, pool, scheduler, cluster: cluster!, published };
}

/** Nodes of one cluster on a database of their own (demo games in it), heartbeating, resumed. */
async function cluster(ids: string[]) {
  const db = await database("postgres");
  const buses = memoryBuses();
  const beats = heartbeats(db, ids);
  await beats.ready;
  const nodes = await Promise.all(ids.map((id) => node(db, buses, id)));
  for (const n of nodes) await n.scheduler.resume();
  return { db, buses, beats, nodes: nodes as [Node, Node, ...Node[]] };
}

async function submit(db: Database, n: Node): Promise<string> {
  const { ids } = await gameIdsInOrder(db);
  const plan = { ...gridPlan(PARAMS, ids.length), unit_size: 64 };
  return n.scheduler.submit(plan, ids);
}

const settled = (n: Node, id: string, timeoutMs = 60_000) => eventually(async () => {
  const s = n.scheduler.snapshot(id);
  if (!s || s.status === "queued" || s.status === "running") throw new Error(`job ${id} ${JSON.stringify(s)}`);
  return s;
}, { timeoutMs, intervalMs: 20, what: `job ${id} on ${n.id}` });

const running = (n: Node, id: string, past = 0) => eventually(async () => {
  const s = n.scheduler.snapshot(id);
  if (s?.status !== "running" || s.current <= past) throw new Error(`job ${id} ${JSON.stringify(s)}`);
  return s;
}, { timeoutMs: 30_000, intervalMs: 10, what: `job ${id} running on ${n.id}` });

async function gridRows(db: Database, id: string) {
  return db.rows(sql`select pair, entry, exit, train_pnl, train_trades, train_wins, valid_pnl, valid_trades, valid_wins,
    test_pnl, test_trades, test_wins from grid_results where job_id = ${id} order by pair`);
}

/** The same job on one node of its own (PGlite): the numbers the cluster must equal. */
let reference: Promise<Record<string, unknown>[]> | undefined;
function single(): Promise<Record<string, unknown>[]> {
  reference ??= (async () => {
    const db = await database("pglite");
    const n = await node(db, undefined, "single");
    const id = await submit(db, n);
    expect((await settled(n, id)).status).toBe("complete");
    return gridRows(db, id);
  })();
  return reference;
}

describe.skipIf(!process.env.DATABASE_URL)("jobs across the nodes of a cluster [postgres]", () => {
  test("a job submitted on A is computed by A and B, watched from B, and equals a single node's results bit for bit", async () => {
    const { db, buses, beats, nodes: [a, b] } = await cluster(["a", "b"]);
    const id = await submit(db, a);
    const done = await settled(a, id);
    expect(done.status).toBe("complete");
    // B's workers did part of it, and A folded what B stored.
    expect(b.cluster.figures.unitsHelped).toBeGreaterThan(0);
    expect(a.cluster.figures.unitsAbsorbed).toBe(b.cluster.figures.unitsHelped);
    // Watched on B: increasing progress, then the final state.
    const seen = (await settled(b, id)) && b.published.filter((p) => p.id === id).map((p) => p.s);
    expect(seen.at(-1)).toMatchObject({ status: "complete", current: done.total });
    const currents = seen.map((s) => s.current);
    expect(currents).toEqual([...currents].sort((x, y) => x - y));
    expect(seen.filter((s) => s.status === "running").length).toBeGreaterThan(1);
    expect(await gridRows(db, id)).toEqual(await single());
    const [left] = await db.rows<{ n: number }>(sql`select count(*)::int as n from job_claims`);
    expect(left.n).toBe(0);
  }, 120_000);

  test("a cancel sent from a node that does not run the job stops every node's work on it", async () => {
    const { db, nodes: [a, b, c] } = await cluster(["a", "b", "c"]);
    const id = await submit(db, a);
    await running(a, id, 0);
    await eventually(async () => {
      if (b.pool.stats().busy + c.pool.stats().busy === 0) throw new Error("helpers idle");
      return true;
    }, { timeoutMs: 20_000, intervalMs: 10, what: "helpers at work" });
    const answer = await c.scheduler.cancel(id);
    expect(answer?.status).toBe("cancelled");
    expect((await settled(a, id)).status).toBe("cancelled");
    await eventually(async () => {
      for (const n of [a, b, c]) if (n.pool.stats().jobs > 0) throw new Error(`${n.id} still on it`);
      return true;
    }, { timeoutMs: 2000, intervalMs: 10, what: "every pool off the job" });
    const [row] = await db.rows<{ state: string }>(sql`select state from jobs where id = ${id}`);
    expect(row.state).toBe("cancelled");
    const [left] = await db.rows<{ n: number }>(sql`select count(*)::int as n from job_claims where job_id = ${id}`);
    expect(left.n).toBe(0);
    // Cancelling again, or an unknown job, from any node: nothing to cancel.
    expect(await b.scheduler.cancel(id)).toBeUndefined();
    expect(await b.scheduler.cancel("00000000-0000-4000-8000-000000000000")).toBeUndefined();
  }, 120_000);

  test("hostile job messages from another node change nothing: bad snapshots, units and ids are ignored, the job completes the same", async () => {
    const { db, buses, nodes: [a, b] } = await cluster(["a", "b"]);
    const intruder = buses.bus("intruder");
    const id = await submit(db, a);
    await running(a, id);
    const hostile = ["", "x".repeat(10_000), "\u0000", "\ud800", "'; drop table jobs; --", id];
    for (const bad of hostile) {
      intruder.send({ t: "job", id: bad, s: { status: "complete", current: 1e300, total: -1, current_combo: "<script>" } });
      intruder.send({ t: "job", id: bad, s: "not a snapshot" });
      intruder.send({ t: "units", job: bad, units: [-1, 1.5, "7", 1e12, null, { unit: 3 }] });
      intruder.send({ t: "units", job: bad, units: "all" });
      intruder.send({ t: "job-running", id: bad });
    }
    intruder.send({ t: "cancel", id: "00000000-0000-4000-8000-000000000000" });
    intruder.send({ t: "no such type", id });
    const done = await settled(a, id);
    expect(done.status).toBe("complete");
    expect(done.current).toBe(done.total);
    expect(await gridRows(db, id)).toEqual(await single());
    // B shows the owner's final state, not the intruder's "complete" with made-up counts.
    expect((await settled(b, id)).current).toBe(done.total);
  }, 120_000);

  test("the owner dies mid-job: another node adopts it, resumes from the stored units, and the results are the same", async () => {
    const { db, buses, beats, nodes: [a, b] } = await cluster(["a", "b"]);
    const id = await submit(db, a);
    await running(a, id, (await running(a, id)).total * 0.2);
    // A stops working without a word (its pool and scheduler gone), and its heartbeat grows old.
    await a.scheduler.stop();
    await a.pool.close();
    buses.remove("a");
    await beats.die("a");
    const done = await settled(b, id);
    expect(done.status).toBe("complete");
    expect(b.cluster.figures.adopted).toBe(1);
    const [row] = await db.rows<{ owner_node: string }>(sql`select owner_node from jobs where id = ${id}`);
    expect(row.owner_node).toBe("b");
    expect(await gridRows(db, id)).toEqual(await single());
  }, 120_000);

  test("a helper dies holding claims: once its lease runs out the owner computes those units, results the same", async () => {
    const { db, buses, beats, nodes: [a, b] } = await cluster(["a", "b"]);
    const id = await submit(db, a);
    await eventually(async () => {
      const [r] = await db.rows<{ n: number }>(sql`select count(*)::int as n from job_claims where job_id = ${id} and node_id = 'b'`);
      if (r.n === 0) throw new Error("b holds no claim yet");
      return r.n;
    }, { timeoutMs: 20_000, intervalMs: 5, what: "b claiming" });
    // B vanishes with its claims (its pool killed, nothing released), and its lease runs out.
    await b.pool.close();
    buses.remove("b");
    await beats.die("b");
    expect((await settled(a, id)).status).toBe("complete");
    expect(await gridRows(db, id)).toEqual(await single());
  }, 120_000);
});

test("claims are only made on a shared PostgreSQL: a PGlite job keeps none and runs as before", async () => {
  const db = await database("pglite");
  const n = await node(db, undefined, "solo");
  const id = await submit(db, n);
  expect((await settled(n, id)).status).toBe("complete");
  const [left] = await db.rows<{ n: number }>(sql`select count(*)::int as n from job_claims`);
  expect(left.n).toBe(0);
  expect((await repo.getJob(db, id))?.ownerNode).toBeNull();
  expect(await gridRows(db, id)).toEqual(await single());
}, 120_000);
