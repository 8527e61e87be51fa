// A job's states and the one place they are defined: the list, the terminal set, the transitions
// the scheduler may make, and the mapping from a stored row to the plain snapshot that topics,
// pages and the progress endpoints show. The scheduler owns a job's state; the pool only counts.

export const JOB_KINDS = ["grid_search", "simulation"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATES = ["queued", "running", "complete", "error", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** States a job never leaves (protocol.md: a job socket closes 1000 after one of them). */
export const TERMINAL_STATES: ReadonlySet<string> = new Set<JobState>(["complete", "error", "cancelled"]);
export const isTerminal = (state: string): boolean => TERMINAL_STATES.has(state);
export const isActive = (state: string): boolean => state === "queued" || state === "running";

/**
 * queued -> running -> complete | error | cancelled, plus: a queued job can be cancelled or fail
 * before it runs, and a running job interrupted by a stop or crash is queued again on the next
 * start (it resumes from its stored units). Nothing leaves a terminal state.
 */
const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ["running", "cancelled", "error"],
  running: ["complete", "error", "cancelled", "queued"],
  complete: [],
  error: [],
  cancelled: [],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** What the wire, the pages and the progress endpoints show of a job (protocol.md "Job progress"). */
export interface JobSnapshot {
  status: JobState;
  current: number;
  total: number;
  current_combo: string;
  error?: string;
}

/** The stored row's fields a snapshot is made of. */
export interface JobProgressRow {
  state: JobState;
  current: number;
  total: number;
  currentCombo: string;
  error: string | null;
}

export function snapshotOf(row: JobProgressRow): JobSnapshot {
  return { status: row.state, current: row.current, total: row.total, current_combo: row.currentCombo, ...(row.error ? { error: row.error } : {}) };
}
