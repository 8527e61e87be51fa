// A running job's units as claimable rows on a shared PostgreSQL (cluster.md): the statements.
// The job's owner node (jobs.owner_node) makes a row per unit still to compute when the job starts
// running; any node's feeder (src/cluster/unit-feeder.ts) claims a few with `for update skip
// locked`, so no unit goes to two nodes at once; storing a unit deletes its row in the same
// transaction (saveUnits in src/jobs/repository.ts). A claim held by a node that is gone from
// `nodes` (its heartbeat older than the lease) is claimable again: nothing is renewed per claim,
// the node's heartbeat is the lease of all its claims.
import { sql } from "drizzle-orm";
import { numbers, texts } from "../db/arrays";
import type { Database } from "../db/database";
import { decodeUnit } from "../jobs/codec";
import type { UnitPartial } from "../compute/units";
import type { JobState } from "../jobs/states";

/** Who asks, and from when a heartbeat proves a node alive (epoch ms: now - lease). */
export interface Claimant {
  node: string;
  aliveAfter: number;
}

/** A claim no live node holds: free, or its node's lease ran out. */
const unheld = (aliveAfter: number) => sql`(c.node_id is null or not exists (
  select 1 from nodes n where n.id = c.node_id and n.last_heartbeat >= ${aliveAfter}))`;

/** Rows for every unit of a job not yet stored; rows that exist stay as they are (a resume). */
export async function createClaims(database: Database, jobId: string, units: number): Promise<void> {
  await database.rows(sql`insert into job_claims (job_id, unit)
    select ${jobId}, g from generate_series(0, ${units - 1}::int) g
    where not exists (select 1 from job_units u where u.job_id = ${jobId} and u.unit = g)
    on conflict do nothing`);
}

/**
 * Up to `limit` units of the job for this node, lowest first; none when nothing is free. The
 * units are picked once, in a materialized CTE: as `unit in (subquery)` the planner could put the
 * LIMIT subquery inside a nested loop, run again per row of the job, and one claim took them all.
 */
export async function claimUnits(database: Database, jobId: string, who: Claimant, limit: number): Promise<number[]> {
  const rows = await database.rows<{ unit: number }>(sql`with picked as materialized (
      select c.unit from job_claims c where c.job_id = ${jobId} and ${unheld(who.aliveAfter)}
      order by c.unit limit ${limit} for update skip locked)
    update job_claims j set node_id = ${who.node} from picked
    where j.job_id = ${jobId} and j.unit = picked.unit
    returning j.unit`);
  return rows.map((r) => Number(r.unit)).sort((a, b) => a - b);
}

/** Whether a job has units no live node holds (worth joining for). */
export async function hasClaimable(database: Database, jobId: string, aliveAfter: number): Promise<boolean> {
  const rows = await database.rows(sql`select 1 from job_claims c where c.job_id = ${jobId} and ${unheld(aliveAfter)} limit 1`);
  return rows.length > 0;
}

/** This node's claims on a job go back to the others (its run there ended before computing them). */
export async function releaseClaims(database: Database, jobId: string, node: string): Promise<void> {
  await database.rows(sql`update job_claims set node_id = null where job_id = ${jobId} and node_id = ${node}`);
}

/** At start: claims a previous process of this node id held are nobody's now. */
export async function releaseAllClaims(database: Database, node: string): Promise<void> {
  await database.rows(sql`update job_claims set node_id = null where node_id = ${node}`);
}

/** A job left running (cancelled, failed): its units will never be computed. */
export async function dropClaims(database: Database, jobId: string): Promise<void> {
  await database.rows(sql`delete from job_claims where job_id = ${jobId}`);
}

/**
 * The units of a job in the store whose numbers are not in `known` (the owner's fold): of `only`
 * (those a message named) in one statement, else (a sweep) the stored numbers first, so only
 * payloads not yet folded cross.
 */
export async function storedUnitsExcept(database: Database, jobId: string, known: (unit: number) => boolean, only?: readonly number[]): Promise<UnitPartial[]> {
  const named = only ?? (await database.rows<{ unit: number }>(sql`select unit from job_units where job_id = ${jobId}`)).map((r) => Number(r.unit));
  const missing = named.filter((u) => !known(u));
  if (missing.length === 0) return [];
  const rows = await database.rows<{ payload: Uint8Array }>(sql`select payload from job_units
    where job_id = ${jobId} and unit = any(${numbers(missing)}::int[])`);
  return rows.map((r) => decodeUnit(r.payload));
}

/**
 * Jobs this node takes over: queued or running ones whose owner is gone (or none), given to this
 * node one row at a time (an update, so two nodes starting together never both take one). At
 * start ("with own") also those a previous process of this node id owned.
 */
export async function adoptJobs(database: Database, who: Claimant, own: "with own" | "others only"): Promise<string[]> {
  const mine = own === "with own" ? sql`j.owner_node = ${who.node}` : sql`false`;
  const rows = await database.rows<{ id: string }>(sql`with taken as (update jobs j set owner_node = ${who.node}
    where j.state in ('queued', 'running') and (j.owner_node is null or ${mine} or not exists (
      select 1 from nodes n where n.id = j.owner_node and n.last_heartbeat >= ${who.aliveAfter}))
    returning j.id, j.created_at)
    select id from taken order by created_at`);
  return rows.map((r) => r.id);
}

/** Running jobs another live node owns: the ones this node's workers may help with. */
export async function othersRunningJobs(database: Database, who: Claimant): Promise<string[]> {
  const rows = await database.rows<{ id: string }>(sql`select j.id from jobs j
    where j.state = 'running' and j.owner_node is not null and j.owner_node <> ${who.node}
    order by j.created_at`);
  return rows.map((r) => r.id);
}

/** Whether the job's owner is a live node other than `who` (a cancel must then go to it). */
export async function liveOwner(database: Database, jobId: string, who: Claimant): Promise<string | undefined> {
  const rows = await database.rows<{ owner_node: string | null }>(sql`select j.owner_node from jobs j
    where j.id = ${jobId} and j.owner_node is not null and j.owner_node <> ${who.node} and exists (
      select 1 from nodes n where n.id = j.owner_node and n.last_heartbeat >= ${who.aliveAfter})`);
  return rows[0]?.owner_node ?? undefined;
}

/** Cancels a job whose owner is gone (or none), taking it over to do so; undefined if it is not such a job. */
export async function cancelOrphan(database: Database, jobId: string, who: Claimant) {
  const [row] = await database.rows<{ current: number; total: number; current_combo: string }>(sql`update jobs j
    set state = 'cancelled', owner_node = ${who.node}, finished_at = now()
    where j.id = ${jobId} and j.state in ('queued', 'running') and (j.owner_node is null or j.owner_node = ${who.node} or not exists (
      select 1 from nodes n where n.id = j.owner_node and n.last_heartbeat >= ${who.aliveAfter}))
    returning j.current, j.total, j.current_combo`);
  return row && { current: Number(row.current), total: Number(row.total), current_combo: row.current_combo };
}

/** Jobs other nodes own, as their progress rows: the active ones, and these (`ids`) whatever their state. */
export async function othersJobs(database: Database, self: string, ids: readonly string[]) {
  const also = ids.length > 0 ? sql` or j.id = any(${texts(ids)}::text[])` : sql``;
  const rows = await database.rows<{ id: string; state: JobState; current: number; total: number; current_combo: string; error: string | null }>(sql`
    select j.id, j.state, j.current, j.total, j.current_combo, j.error from jobs j
    where (j.state in ('queued', 'running')${also}) and j.owner_node is distinct from ${self}`);
  return rows.map((r) => ({ id: r.id, state: r.state, current: Number(r.current), total: Number(r.total), currentCombo: r.current_combo, error: r.error }));
}
