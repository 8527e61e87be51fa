// A job's plan: built once from validated parameters at submission, stored with the job (the
// `params` column), and read back as a union keyed by kind, so nothing downstream casts its
// parameters or counts its pairs again. The grid's values are made from it when the job runs.
import { countPairs, gridPairs, type GridParams, type SimulationParams } from "../compute/grid";
import { splitBounds, type SplitBounds } from "../compute/splits";
import type { JobKind } from "./states";

interface PlanCommon {
  /** Games the job runs over (their ids are stored with the job, in game order). */
  games: number;
  /** (entry, exit) pairs: the grid's count, 1 for a simulation. */
  pairs: number;
  /** Progress units: pairs x games for a grid search, games for a simulation (strategy.md). */
  total: number;
  /** Pairs per compute unit, fixed on the job's first run so a resumed job cuts its units the
   *  same way; null until then (the pool's default depends on the games' lengths). */
  unit_size: number | null;
}

export interface GridPlan extends PlanCommon {
  kind: "grid_search";
  params: GridParams;
}

export interface SimulationPlan extends PlanCommon {
  kind: "simulation";
  params: SimulationParams;
}

export type JobPlan = GridPlan | SimulationPlan;

export function gridPlan(params: GridParams, games: number): GridPlan {
  const pairs = countPairs(params);
  return { kind: "grid_search", params, games, pairs, total: pairs * games, unit_size: null };
}

export function simulationPlan(params: SimulationParams, games: number): SimulationPlan {
  return { kind: "simulation", params, games, pairs: 1, total: games, unit_size: 1 };
}

/** The plan's (entry, exit) pairs, in grid order. */
export function planPairs(plan: JobPlan): { entries: Float64Array; exits: Float64Array } {
  if (plan.kind === "grid_search") return gridPairs(plan.params);
  return { entries: Float64Array.of(plan.params.entry), exits: Float64Array.of(plan.params.exit) };
}

/** Train/valid/test games of a grid search; a simulation has none. */
export function planSplits(plan: JobPlan): SplitBounds | undefined {
  if (plan.kind !== "grid_search") return undefined;
  return splitBounds(plan.games, plan.params.train_fraction, plan.params.valid_fraction);
}

/**
 * The plan a stored job row holds. Rows written before plans were stored hold the bare parameters
 * (with `unit_size` beside them): those are read into a plan too, so a job queued by an older
 * version still runs and resumes the same way.
 */
export function storedPlan(kind: JobKind, stored: unknown, games: number): JobPlan {
  const s = stored as Partial<JobPlan> & Record<string, unknown>;
  if (s && typeof s === "object" && s.kind === kind && s.params && typeof s.params === "object") return s as JobPlan;
  const { unit_size, ...params } = s as Record<string, unknown> & { unit_size?: number };
  const plan = kind === "grid_search"
    ? gridPlan(params as unknown as GridParams, games)
    : simulationPlan(params as unknown as SimulationParams, games);
  if (typeof unit_size === "number") plan.unit_size = unit_size;
  return plan;
}
