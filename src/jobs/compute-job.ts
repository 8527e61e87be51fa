// A stored job as the pool runs it: its plan's pairs and splits over the job's game store. One
// place, so the node that owns a job and the nodes that help with it (src/cluster/cluster-jobs.ts)
// cut it into the very same units.
import type { ComputeJob } from "../compute/pool";
import type { GameStore } from "../compute/store";
import type { UnitPartial } from "../compute/units";
import { planPairs, planSplits, type JobPlan } from "./plan";

/** `plan.unit_size` must be fixed (the owner fixes it on the job's first run and stores it). */
export function computeJobOf(id: string, plan: JobPlan, store: GameStore, done: readonly UnitPartial[], claimed: boolean): ComputeJob {
  if (plan.unit_size == null) throw new Error(`job ${id}: its unit size is not fixed yet`);
  const { entries, exits } = planPairs(plan);
  return {
    id, kind: plan.kind === "grid_search" ? "grid" : "simulation", store, entries, exits, fee: plan.params.fee,
    splits: planSplits(plan), unitSize: plan.unit_size, done, ...(claimed ? { claimed } : {}),
  };
}
