// Deployed strategies (live.md "Strategies"): one (entry, exit, fee) pair of strategy.md, made
// from values or from a completed grid search's final selection, read with its running totals,
// and stopped. The evaluation itself is the ingest's (src/live/ingest.ts): deploying is a row.
import { and, asc, eq, ne } from "drizzle-orm";
import { ParamError, validateSimulationParams, type SimulationParams } from "../compute/grid";
import type { Database } from "../db/database";
import { strategies } from "../db/schema";
import { invalid, notFound, wrongState } from "../errors";
import { isJobId } from "../jobs/ids";
import { checkMayCancel, creatorOf } from "../jobs/ownership";
import { getJob, planOf } from "../jobs/repository";
import type { Identity } from "../access/roles";
import { quoteValue } from "../games/ids";

export const STRATEGY_NAME_MAX = 100;
/** The identity column's range: a path id outside it names no strategy and must not reach the store. */
const MAX_STRATEGY_ID = 2 ** 31 - 1;

export type StrategyRow = typeof strategies.$inferSelect;

export interface StrategyJson {
  id: number;
  name: string;
  entry: number;
  exit: number;
  fee: number;
  status: "active" | "stopped";
  created_at: string;
  created_by: string | null;
  stopped_at: string | null;
}

export interface StrategyTotals {
  pnl: number;
  trades: number;
  wins: number;
  games: number;
  open_positions: number;
}

export const strategyJson = (r: StrategyRow): StrategyJson => ({
  id: r.id, name: r.name, entry: r.entry, exit: r.exit, fee: r.fee, status: r.status,
  created_at: r.createdAt.toISOString(), created_by: r.createdBy, stopped_at: r.stoppedAt?.toISOString() ?? null,
});

// C0 and C1 controls, DEL, the line separators (they fake lines in tables and logs), lone
// surrogates (no valid text, and PostgreSQL refuses them), and markup: a name is shown on pages
// and in signal feeds other people read, so `<` and `>` are refused at the door rather than
// trusted to every renderer's escaping.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const MARKUP = /[<>]/;

/** A strategy's name: 1-100 characters (UTF-16 units) of printable text, no `<` or `>`, no space at either end. */
export function validateStrategyName(name: unknown): string {
  if (typeof name !== "string") throw invalid(`name: must be a string, got ${quoteValue(name)}`);
  if (name.length === 0) throw invalid("name: must not be empty");
  if (name.length > STRATEGY_NAME_MAX) throw invalid(`name: must be at most ${STRATEGY_NAME_MAX} characters`);
  if (CONTROL.test(name)) throw invalid("name: must not contain control characters");
  if (LONE_SURROGATE.test(name)) throw invalid("name: must be valid Unicode text (it has a lone surrogate)");
  if (MARKUP.test(name)) throw invalid("name: must not contain < or >");
  if (name.trim() !== name) throw invalid("name: must not start or end with whitespace");
  return name;
}

/** strategy.md's rules for one pair, via the simulation's check (422 naming the field). */
function pairOf(input: Record<string, unknown>): SimulationParams {
  try {
    return validateSimulationParams({ entry: input.entry, exit: input.exit, fee: input.fee });
  } catch (err) {
    if (err instanceof ParamError) throw invalid(err.message);
    throw err;
  }
}

/** The final selection and fee of a completed grid search: what "deploy this pair" deploys. */
export async function pairOfJob(database: Database, raw: unknown): Promise<SimulationParams> {
  if (typeof raw !== "string") throw invalid(`from_job: must be a grid search's request_id (a string), got ${quoteValue(raw)}`);
  // An id the server could never have issued names no job, and must not reach the store.
  const row = isJobId(raw) ? await getJob(database, raw) : undefined;
  if (!row) throw notFound(`from_job: no job ${quoteValue(raw)}`);
  if (row.kind !== "grid_search") throw wrongState("from_job: the job is a simulation; deploy from a grid search (or give entry, exit and fee)", { status: row.state });
  if (row.state !== "complete") throw wrongState(`from_job: the grid search is ${row.state}; deploy it once it is complete`, { status: row.state });
  const plan = planOf(row);
  const selection = (row.summary as { final_selection?: { entry: number; exit: number } | null } | null)?.final_selection;
  if (!selection || plan.kind !== "grid_search") throw wrongState("from_job: the grid search has no final selection to deploy");
  // Checked again: a selection stored by an older version must still follow today's rules.
  return pairOf({ entry: selection.entry, exit: selection.exit, fee: plan.params.fee });
}

/** Deploys a strategy from `{name, entry, exit, fee}` or `{name, from_job}`; nothing is stored unless all of it is valid. */
export async function createStrategy(database: Database, input: Record<string, unknown>, identity: Identity | null, now = new Date()): Promise<StrategyRow> {
  const name = validateStrategyName(input.name);
  const fromJob = input.from_job !== undefined && input.from_job !== null;
  if (fromJob && (input.entry !== undefined || input.exit !== undefined || input.fee !== undefined)) {
    throw invalid("from_job: give either from_job or entry, exit and fee, not both");
  }
  const pair = fromJob ? await pairOfJob(database, input.from_job) : pairOf(input);
  const creator = creatorOf(identity);
  const [row] = await database.db.insert(strategies).values({
    name, entry: pair.entry, exit: pair.exit, fee: pair.fee, status: "active", createdAt: now,
    createdBy: creator.name, createdByToken: creator.tokenId,
  }).returning();
  return row!;
}

/** A path id as a strategy id, or undefined when it can name none (then: not found). */
export function strategyIdOf(raw: string): number | undefined {
  if (!/^[1-9]\d{0,9}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n <= MAX_STRATEGY_ID ? n : undefined;
}

export async function listStrategies(database: Database): Promise<StrategyRow[]> {
  return database.db.select().from(strategies).orderBy(asc(strategies.id));
}

export async function getStrategy(database: Database, id: number): Promise<StrategyRow | undefined> {
  const [row] = await database.db.select().from(strategies).where(eq(strategies.id, id));
  return row;
}

/** The strategy's totals so far over its games (strategy.md's pnl, trades, wins), and its open positions: its row's, kept by every live write. */
export const strategyTotals = (r: StrategyRow): StrategyTotals => ({
  pnl: r.pnl, trades: r.trades, wins: r.wins, games: r.games, open_positions: r.openPositions,
});

/**
 * Stops a strategy: no more signals from the next tick on; its open positions stay open on
 * record. An operator stops only their own, an admin any (the jobs' rule, access.md
 * "Ownership"). Stopping a stopped strategy is a 409.
 */
export async function stopStrategy(database: Database, id: number, identity: Identity | null, now = new Date()): Promise<StrategyRow> {
  const row = await getStrategy(database, id);
  if (!row) throw notFound("Strategy not found");
  checkMayCancel(identity, row);
  // Conditional on the status, so two stops at once give one 200 and one 409.
  const [stopped] = await database.db.update(strategies).set({ status: "stopped", stoppedAt: now })
    .where(and(eq(strategies.id, id), ne(strategies.status, "stopped"))).returning();
  if (!stopped) throw wrongState("the strategy is already stopped", { status: "stopped" });
  return stopped;
}
