// Jobs in the database: rows with explicit states, their finished units (what a restart resumes
// from) and their final results. Only plain rows go in and out.
import { and, asc, desc, eq, gte, inArray, lt, sql } from "drizzle-orm";
import { numbers, packedText, texts } from "../db/arrays";
import type { Database } from "../db/database";
import { gridResults, jobClaims, jobs, jobUnits, simulationGames } from "../db/schema";
import type { Totals, UnitPartial } from "../compute/units";
import { decodeUnit, encodeUnit } from "./codec";
import { Slices } from "./slices";
import { storedPlan, type JobPlan } from "./plan";

import type { JobKind } from "./states";

export type JobRow = typeof jobs.$inferSelect;

/** The job's plan, typed by its kind (rows of older versions included). */
export function planOf(row: Pick<JobRow, "kind" | "params"> & { gameIds?: string[] }): JobPlan {
  return storedPlan(row.kind, row.params, row.gameIds?.length ?? 0);
}

/** Who started a job (access.md "Ownership"): the token's name and id, both null when auth is off. */
export interface JobCreator {
  name: string | null;
  tokenId: string | null;
}

export async function insertJob(database: Database, row: {
  id: string; kind: JobKind; params: JobPlan; gameIds: string[]; total: number; createdBy?: string | null; createdByToken?: string | null;
  ownerNode?: string | null;
}) {
  await database.db.insert(jobs).values({ ...row, state: "queued" });
}

export async function getJob(database: Database, id: string): Promise<JobRow | undefined> {
  const [row] = await database.db.select().from(jobs).where(eq(jobs.id, id));
  return row;
}

export async function updateJob(database: Database, id: string, set: Partial<Pick<JobRow, "state" | "params" | "current" | "currentCombo" | "error" | "summary" | "startedAt" | "finishedAt">>) {
  await database.db.update(jobs).set(set).where(eq(jobs.id, id));
}

/** Jobs to pick up at start: queued and (interrupted) running ones, oldest first. */
export async function unfinishedJobs(database: Database): Promise<JobRow[]> {
  return database.db.select().from(jobs).where(inArray(jobs.state, ["queued", "running"])).orderBy(asc(jobs.createdAt));
}

export async function recentJobs(database: Database, limit: number): Promise<Omit<JobRow, "gameIds">[]> {
  const { gameIds: _omit, ...columns } = jobsColumns();
  return database.db.select(columns).from(jobs).orderBy(desc(jobs.createdAt)).limit(limit);
}

function jobsColumns() {
  return { id: jobs.id, kind: jobs.kind, state: jobs.state, params: jobs.params, gameIds: jobs.gameIds, total: jobs.total,
    current: jobs.current, currentCombo: jobs.currentCombo, error: jobs.error, summary: jobs.summary,
    createdAt: jobs.createdAt, startedAt: jobs.startedAt, finishedAt: jobs.finishedAt, createdBy: jobs.createdBy, createdByToken: jobs.createdByToken,
    ownerNode: jobs.ownerNode };
}

/**
 * Stores finished units, in one statement with a parameter per column, not per unit (the
 * payloads as base64 text, db/arrays packedText). `claims`: a cluster job's, whose claim rows the
 * same statement deletes (src/cluster/job-claims.ts), so a unit is either claimed or stored, never
 * lost between; only units still claimed are stored: a job that ended meanwhile (its claims
 * dropped, or its units folded and removed by completeJob) gets nothing back.
 */
export async function saveUnits(database: Database, jobId: string, batch: UnitPartial[], options: { claims?: boolean } = {}) {
  if (batch.length === 0) return;
  const units = numbers(batch.map((p) => p.unit));
  const rows = sql`select ${jobId}, u.unit, decode(u.payload, 'base64')
    from unnest(${units}::int[], ${texts(batch.map((p) => packedText(encodeUnit(p))))}::text[]) as u(unit, payload)`;
  await database.rows(options.claims
    ? sql`with claimed as (delete from job_claims where job_id = ${jobId} and unit = any(${units}::int[]) returning unit)
      insert into job_units (job_id, unit, payload) ${rows} where u.unit in (select unit from claimed) on conflict do nothing`
    : sql`insert into job_units (job_id, unit, payload) ${rows} on conflict do nothing`);
}

export async function loadUnits(database: Database, jobId: string): Promise<UnitPartial[]> {
  const rows = await database.db.select({ payload: jobUnits.payload }).from(jobUnits).where(eq(jobUnits.jobId, jobId));
  return rows.map((r) => decodeUnit(r.payload));
}

export type GridRow = typeof gridResults.$inferSelect;
export type SimulationRow = typeof simulationGames.$inferSelect;

/** A finished job's result rows, held as the columns the pool summed them in: rows are made
 *  a slice at a time while they are stored, never all at once. */
export type ResultColumns =
  | { kind: "grid"; entries: Float64Array; exits: Float64Array; train: Totals; valid: Totals; test: Totals }
  | { kind: "simulation"; ids: readonly string[]; pnl: Float64Array; trades: Float64Array; wins: Float64Array; equity: Float64Array };

function insertSlice(database: Database, jobId: string, rows: ResultColumns, from: number, to: number) {
  // One statement per slice with a parameter per column, not per value: 13 parameters for a
  // thousand rows instead of 13,000 (drizzle's multi-row values() built and bound each one).
  if (rows.kind === "grid") {
    const f = (a: Float64Array) => numbers(a, from, to);
    const { train, valid, test } = rows;
    return database.db.execute(sql`insert into grid_results (job_id, pair, entry, exit, train_pnl, train_trades, train_wins,
        valid_pnl, valid_trades, valid_wins, test_pnl, test_trades, test_wins)
      select ${jobId}, ${from}::int + u.n::int - 1, u.entry, u.exit, u.tp, u.tt, u.tw, u.vp, u.vt, u.vw, u.sp, u.st, u.sw
      from unnest(${f(rows.entries)}::float8[], ${f(rows.exits)}::float8[],
        ${f(train.pnl)}::float8[], ${f(train.trades)}::int[], ${f(train.wins)}::int[],
        ${f(valid.pnl)}::float8[], ${f(valid.trades)}::int[], ${f(valid.wins)}::int[],
        ${f(test.pnl)}::float8[], ${f(test.trades)}::int[], ${f(test.wins)}::int[])
        with ordinality as u(entry, exit, tp, tt, tw, vp, vt, vw, sp, st, sw, n)
      on conflict do nothing`);
  }
  const f = (a: Float64Array) => numbers(a, from, to);
  return database.db.execute(sql`insert into simulation_games (job_id, idx, game_id, pnl, trades, wins, equity)
    select ${jobId}, ${from}::int + u.n::int - 1, u.game_id, u.pnl, u.trades, u.wins, u.equity
    from unnest(${texts(rows.ids, from, to)}::text[], ${f(rows.pnl)}::float8[], ${f(rows.trades)}::int[], ${f(rows.wins)}::int[], ${f(rows.equity)}::float8[])
      with ordinality as u(game_id, pnl, trades, wins, equity, n)
    on conflict do nothing`);
}

const STORE_SLICES = { first: 500, min: 50, max: 20_000 };

/**
 * Stores a finished job's rows, then marks it complete (with its summary, dropping its units) in
 * one transaction: a job is complete with all its rows or not at all. The rows go in slices, each
 * its own statement, with the event loop let in between: one transaction around them all would
 * hold PGlite's only connection (and /health's ping with it) for the whole store. Rows of a job
 * that is not complete are never read; a store cut short by a stop is done again when the job
 * resumes (the same rows: conflicts are skipped), and one that failed is removed.
 */
export async function completeJob(database: Database, jobId: string, rows: ResultColumns, summary: object, current: number, currentCombo: string) {
  const count = rows.kind === "grid" ? rows.entries.length : rows.ids.length;
  try {
    for await (const [from, to] of new Slices(STORE_SLICES).ranges(count)) await insertSlice(database, jobId, rows, from, to);
    await database.db.transaction(async (tx) => {
      await tx.update(jobs).set({ state: "complete", summary, current, currentCombo, finishedAt: new Date() }).where(eq(jobs.id, jobId));
      await tx.delete(jobUnits).where(eq(jobUnits.jobId, jobId));
      await tx.delete(jobClaims).where(eq(jobClaims.jobId, jobId));
    });
  } catch (err) {
    await deleteResults(database, jobId, rows.kind, count).catch(() => {}); // the error that matters is the first one
    throw err;
  }
}

async function deleteResults(database: Database, jobId: string, kind: ResultColumns["kind"], count: number) {
  const [table, index] = kind === "grid" ? [gridResults, gridResults.pair] as const : [simulationGames, simulationGames.idx] as const;
  for await (const [from, to] of new Slices(STORE_SLICES).ranges(count)) {
    await database.db.delete(table).where(and(eq(table.jobId, jobId), gte(index, from), lt(index, to)));
  }
}

/** A job's grid rows with pair in [from, to), in pair order. Pairs are numbered densely from 0, so
 *  a page is a range, not an offset or a LIMIT: its cost is its own rows, whatever the planner
 *  knows (PGlite never analyzes, and with no statistics a LIMIT query sorted every later row). */
export async function gridRowsRange(database: Database, jobId: string, from: number, to: number): Promise<GridRow[]> {
  return database.db.select().from(gridResults)
    .where(and(eq(gridResults.jobId, jobId), gte(gridResults.pair, from), lt(gridResults.pair, to))).orderBy(asc(gridResults.pair));
}

/** A simulation's per-game rows with index in [from, to), in game order. */
export async function simulationRowsRange(database: Database, jobId: string, from: number, to: number): Promise<SimulationRow[]> {
  return database.db.select().from(simulationGames)
    .where(and(eq(simulationGames.jobId, jobId), gte(simulationGames.idx, from), lt(simulationGames.idx, to))).orderBy(asc(simulationGames.idx));
}
