// Jobs in the database: rows with explicit states, their finished units (what a restart resumes
// from) and their final results. Only plain rows go in and out.
import { asc, desc, eq, inArray } from "drizzle-orm";
import type { Database } from "../db/database";
import { gridResults, jobs, jobUnits, simulationGames } from "../db/schema";
import type { UnitPartial } from "../compute/units";
import { decodeUnit, encodeUnit } from "./codec";
import { storedPlan, type JobPlan } from "./plan";

import type { JobKind } from "./states";

export type JobRow = typeof jobs.$inferSelect;

/** The job's plan, typed by its kind (rows of older versions included). */
export function planOf(row: Pick<JobRow, "kind" | "params"> & { gameIds?: string[] }): JobPlan {
  return storedPlan(row.kind, row.params, row.gameIds?.length ?? 0);
}

export async function insertJob(database: Database, row: { id: string; kind: JobKind; params: JobPlan; gameIds: string[]; total: number }) {
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
    createdAt: jobs.createdAt, startedAt: jobs.startedAt, finishedAt: jobs.finishedAt };
}

export async function saveUnits(database: Database, jobId: string, batch: UnitPartial[]) {
  if (batch.length === 0) return;
  await database.db.insert(jobUnits).values(batch.map((p) => ({ jobId, unit: p.unit, payload: encodeUnit(p) }))).onConflictDoNothing();
}

export async function loadUnits(database: Database, jobId: string): Promise<UnitPartial[]> {
  const rows = await database.db.select({ payload: jobUnits.payload }).from(jobUnits).where(eq(jobUnits.jobId, jobId));
  return rows.map((r) => decodeUnit(r.payload));
}

export type GridRow = typeof gridResults.$inferInsert;
export type SimulationRow = typeof simulationGames.$inferInsert;

/** Final results and the terminal state in one transaction: a job is complete with all its rows or not at all. */
export async function completeJob(database: Database, jobId: string, rows: { grid?: GridRow[]; simulation?: SimulationRow[] }, summary: object, current: number, currentCombo: string) {
  await database.db.transaction(async (tx) => {
    const CHUNK = 2000;
    const grid = rows.grid ?? [];
    for (let i = 0; i < grid.length; i += CHUNK) await tx.insert(gridResults).values(grid.slice(i, i + CHUNK)).onConflictDoNothing();
    const sim = rows.simulation ?? [];
    for (let i = 0; i < sim.length; i += CHUNK) await tx.insert(simulationGames).values(sim.slice(i, i + CHUNK)).onConflictDoNothing();
    await tx.update(jobs).set({ state: "complete", summary, current, currentCombo, finishedAt: new Date() }).where(eq(jobs.id, jobId));
    await tx.delete(jobUnits).where(eq(jobUnits.jobId, jobId));
  });
}

export async function gridRows(database: Database, jobId: string) {
  return database.db.select().from(gridResults).where(eq(gridResults.jobId, jobId)).orderBy(asc(gridResults.pair));
}

export async function simulationRows(database: Database, jobId: string) {
  return database.db.select().from(simulationGames).where(eq(simulationGames.jobId, jobId)).orderBy(asc(simulationGames.idx));
}
