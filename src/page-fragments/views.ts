// Plain view models for the pages, built from scheduler snapshots, job rows and the job clock.
// The routes (first load, polls) and the socket renderer build them the same way.
import { snapshotOf, type JobProgressRow, type JobSnapshot } from "../jobs/states";
import type { JobLiveView } from "../../views/pages/job";
import type { JobClock } from "./job-clock";

/** A snapshot as published on a job topic (the scheduler's JobSnapshot, or not_found). */
export type JobState = Partial<JobSnapshot> & { status?: unknown };

export function jobLiveView(id: string, state: JobState, clock: JobClock, now: number): JobLiveView {
  const current = Number(state.current ?? 0);
  const total = Number(state.total ?? 0);
  return {
    id,
    status: String(state.status ?? "not_found"),
    current,
    total,
    current_combo: String(state.current_combo ?? ""),
    ...(state.error ? { error: String(state.error) } : {}),
    ...clock.timing(id, current, total, now),
  };
}

/** The live snapshot when this process has one, else the stored row's last state. */
export function jobStateOf(row: JobProgressRow, live: JobSnapshot | undefined): JobState {
  return live ?? snapshotOf(row);
}
