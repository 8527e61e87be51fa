// The claim statements of src/cluster/job-claims.ts on a real PostgreSQL: a claim takes at most
// what it asks for, lowest free units first, whatever plan the table's statistics lead the planner
// to, and claims made at once by several nodes never overlap.
import { afterEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { claimUnits, createClaims, hasClaimable } from "../../src/cluster/job-claims";
import type { Database } from "../../src/db/database";
import { postgresDatabase } from "../../src/db/postgres";
import { gridPlan } from "../../src/jobs/plan";
import * as repo from "../../src/jobs/repository";
import { freshDatabase } from "../support/db";

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (open.length) await open.pop()!().catch(() => {});
});

const PARAMS = { entry_start: 0.01, entry_stop: 0.1, entry_step: 0.01, exit_start: 0, exit_stop: 0.05, exit_step: 0.01, fee: 0, train_fraction: 0.6, valid_fraction: 0.2 };
const UNITS = 1215;
const NODES = ["node-a", "node-b", "node-c"];

async function setup(): Promise<{ db: Database & { url?: string }; job: string; handles: Database[] }> {
  const db = await freshDatabase("postgres");
  open.push(() => db.close());
  const newJob = async () => {
    const id = crypto.randomUUID();
    await repo.insertJob(db, { id, kind: "grid_search", params: gridPlan(PARAMS, 10), gameIds: [], total: 1, ownerNode: "node-a" });
    await createClaims(db, id, UNITS);
    return id;
  };
  // What autovacuum leaves between two jobs: the last job's claims deleted, the tables vacuumed
  // and analyzed while empty (the daemons had stopped, so no node rows either). The planner then
  // expects a row or so, and planned a claim as a nested loop with its LIMIT subquery inside,
  // run again for every row of the job: one claim of 8 took every unit, and the other nodes,
  // finding none, left the job to the one that took them all.
  const before = await newJob();
  await db.rows(sql`delete from job_claims where job_id = ${before}`);
  await db.rows(sql`vacuum analyze job_claims, nodes`);
  const now = Date.now();
  for (const id of NODES) {
    await db.rows(sql`insert into nodes (id, instance, host, port, started_at, last_heartbeat, workers, busy, version)
      values (${id}, ${id}, '127.0.0.1', 1, ${now}, ${now}, 2, 0, 'test')`);
  }
  // That plan depends on more than these statistics (how bloated the index is, say), so the nodes'
  // connections below are steered to it: it is one PostgreSQL chose, and a claim must hold under any.
  const name = new URL(db.url!).pathname.slice(1);
  for (const off of ["hashjoin", "mergejoin", "material", "memoize", "hashagg", "sort", "bitmapscan"]) {
    await db.rows(sql.raw(`alter database "${name}" set enable_${off} = off`));
  }
  const job = await newJob();
  const handles = await Promise.all(NODES.map(() => postgresDatabase(db.url!, { max: 2 })));
  for (const h of handles) open.push(() => h.close());
  return { db, job, handles };
}

const who = (node: string) => ({ node, aliveAfter: Date.now() - 10_000 });

describe.skipIf(!process.env.DATABASE_URL)("claiming a job's units [postgres]", () => {
  test("a claim takes at most its limit, the lowest free units first, on statistics of an empty table", async () => {
    const { db, job, handles } = await setup();
    expect(await claimUnits(handles[0]!, job, who("node-a"), 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await claimUnits(handles[1]!, job, who("node-b"), 8)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    const [{ n }] = await db.rows<{ n: number }>(sql`select count(*)::int as n from job_claims where job_id = ${job} and node_id is not null`);
    expect(n).toBe(16);
    expect(await hasClaimable(db, job, who("node-c").aliveAfter)).toBe(true);
  });

  test("nodes claiming at once, each on its own connections, get disjoint units and together all of them", async () => {
    const { job, handles } = await setup();
    const got = new Map<string, number[]>(NODES.map((n) => [n, []]));
    let rounds = 0;
    // Each node claims 8 at a time until a claim finds nothing; bounded by the units there are.
    await Promise.all(NODES.map(async (node, i) => {
      for (let k = 0; k < UNITS; k++) {
        const units = await claimUnits(handles[i]!, job, who(node), 8);
        rounds++;
        expect(units.length).toBeLessThanOrEqual(8);
        if (units.length === 0) return;
        got.get(node)!.push(...units);
      }
    }));
    const all = [...got.values()].flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: UNITS }, (_, u) => u));
    // Shared out, not taken by whichever node came first.
    for (const node of NODES) expect(got.get(node)!.length).toBeGreaterThan(UNITS / 10);
    expect(rounds).toBeLessThan(UNITS);
  });
});
