// Jobs from submission to a terminal state (src/jobs/states.ts): the one owner of a job's state.
// Runs jobs on the compute pool within the running/queued limits, persists finished units as they
// come (a restart resumes from them), stores results, and hands plain snapshots to `publish`.
// The pool only counts; every state change is made here, through `transition`.
import type { ComputeJob, JobOutcome, Pool } from "../compute/pool";
import { defaultUnitSize } from "../compute/pool";
import type { ProgressCounts } from "../compute/progress";
import type { Database } from "../db/database";
import { DomainError } from "../errors";
import type { Logger } from "../log/logger";
import { planPairs, planSplits, storedPlan, type JobPlan } from "./plan";
import { buildResultRows } from "./results";
import * as repo from "./repository";
import { canTransition, isActive, snapshotOf, type JobSnapshot, type JobState } from "./states";
import type { GameStoreCache } from "./stores";

export type { JobSnapshot } from "./states";

export interface SchedulerDeps {
  database: () => Database;
  pool: Pool;
  stores: GameStoreCache;
  logger: Logger;
  /** `countedAt`: unix ms when a worker counted the newest progress in the snapshot, if it says. */
  publish: (jobId: string, snapshot: JobSnapshot, countedAt?: number) => void;
  maxRunning: number;
  maxQueued: number;
}

/** Finished jobs whose last snapshot stays in memory for late subscribers and progress polls. */
const KEEP_FINISHED = 1000;

interface Running {
  cancel(): void;
  /** Settles when the job has left `running` (or was left for the next start). */
  done: Promise<void>;
}

export class JobScheduler {
  private readonly queue: string[] = [];
  private readonly running = new Map<string, Running>();
  /** Cancels that arrived while a job was starting (before the pool had it). */
  private readonly cancelRequested = new Set<string>();
  private readonly snapshots = new Map<string, JobSnapshot>();
  private stopping = false;

  constructor(private readonly deps: SchedulerDeps) {}

  /**
   * Creates a queued job (queue_full when the queue is full) and returns its request id.
   * `createdBy`: the identity that asked (access.md "Ownership"); none when auth is off.
   */
  async submit(plan: JobPlan, gameIds: string[], createdBy?: repo.JobCreator): Promise<string> {
    if (this.queue.length >= this.deps.maxQueued) {
      throw new DomainError("queue_full", `${this.queue.length} jobs are already queued (the limit is ${this.deps.maxQueued}); try again when some finish`);
    }
    const id = crypto.randomUUID();
    await repo.insertJob(this.deps.database(), {
      id, kind: plan.kind, params: plan, gameIds, total: plan.total, createdBy: createdBy?.name ?? null, createdByToken: createdBy?.tokenId ?? null,
    });
    this.set(id, { status: "queued", current: 0, total: plan.total, current_combo: "" });
    this.queue.push(id);
    this.pump();
    return id;
  }

  /** Picks up jobs a previous process left queued or running; running ones resume from their units. */
  async resume(): Promise<number> {
    // Recent finished jobs first, so a socket or a poll for one gets its final state, not not_found.
    const recent = await repo.recentJobs(this.deps.database(), KEEP_FINISHED);
    for (const r of recent.reverse()) if (!isActive(r.state)) this.snapshots.set(r.id, snapshotOf(r));
    const rows = await repo.unfinishedJobs(this.deps.database());
    for (const row of rows) {
      // An interrupted `running` job is queued again: running -> queued is an allowed transition.
      this.set(row.id, { ...snapshotOf(row), status: "queued" });
      this.queue.push(row.id);
    }
    if (rows.length) this.deps.logger.info("resuming jobs", { jobs: rows.length });
    this.pump();
    return rows.length;
  }

  /** The live snapshot of a job this process knows about (active or recently finished). */
  snapshot(id: string): JobSnapshot | undefined {
    return this.snapshots.get(id);
  }

  /**
   * Cancels a queued or running job and resolves with its snapshot once it has left `running`
   * (so the answer says `cancelled`, or `complete` if it finished first); undefined when this
   * process has no such active job.
   */
  async cancel(id: string): Promise<JobSnapshot | undefined> {
    const run = this.running.get(id);
    if (run) {
      run.cancel();
      await run.done;
      return this.snapshots.get(id);
    }
    const i = this.queue.indexOf(id);
    if (i >= 0) {
      this.queue.splice(i, 1);
      await this.transition(id, "cancelled", {});
      return this.snapshots.get(id);
    }
    return undefined;
  }

  stats() {
    return { running: this.running.size, queued: this.queue.length };
  }

  /** Jobs this process knows, by state (for the metrics topic). */
  countsByState(): Record<JobState, number> {
    const out: Record<JobState, number> = { queued: 0, running: 0, complete: 0, error: 0, cancelled: 0 };
    for (const s of this.snapshots.values()) out[s.status]++;
    return out;
  }

  /** Stops taking work; running jobs stay `running` in the database with their units saved. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
  }

  /**
   * The one way a job changes state: checked against the allowed transitions, stored, then
   * published. `counts` carries the progress that goes with the change.
   */
  private async transition(id: string, to: JobState, counts: Partial<ProgressCounts>, extra: { error?: string; startedAt?: Date; plan?: JobPlan } = {}) {
    const prev = this.snapshots.get(id);
    const from = prev?.status ?? "queued";
    if (from !== to && !canTransition(from, to)) throw new Error(`job ${id}: no transition from ${from} to ${to}`);
    const next: JobSnapshot = {
      status: to,
      current: counts.current ?? prev?.current ?? 0,
      total: counts.total ?? prev?.total ?? 0,
      current_combo: counts.current_combo ?? prev?.current_combo ?? "",
      ...(extra.error !== undefined ? { error: extra.error } : {}),
    };
    const terminal = to === "complete" || to === "error" || to === "cancelled";
    if (to !== "complete") {
      // complete is stored by completeJob: the results in slices first, then state, summary and
      // the units' removal in one transaction (a restart before that stores the results again).
      await repo.updateJob(this.deps.database(), id, {
        state: to, current: next.current, currentCombo: next.current_combo,
        ...(extra.error !== undefined ? { error: extra.error } : {}),
        ...(extra.startedAt ? { startedAt: extra.startedAt } : {}),
        ...(extra.plan ? { params: extra.plan } : {}),
        ...(terminal ? { finishedAt: new Date() } : {}),
      });
    }
    this.set(id, next);
  }

  private set(id: string, s: JobSnapshot, countedAt?: number) {
    this.snapshots.delete(id);
    this.snapshots.set(id, s);
    if (this.snapshots.size > KEEP_FINISHED + this.running.size + this.queue.length) {
      for (const [key, v] of this.snapshots) {
        if (this.snapshots.size <= KEEP_FINISHED) break;
        if (!isActive(v.status)) this.snapshots.delete(key);
      }
    }
    this.deps.publish(id, s, countedAt);
  }

  /** Counts from the pool while a job runs; its state stays as the scheduler set it. */
  private progress(id: string, counts: ProgressCounts, countedAt?: number) {
    const s = this.snapshots.get(id);
    if (!s || s.status !== "running") return;
    this.set(id, { ...s, ...counts }, countedAt);
  }

  private pump() {
    while (!this.stopping && this.running.size < this.deps.maxRunning && this.queue.length > 0) {
      const id = this.queue.shift()!;
      let settle!: () => void;
      const done = new Promise<void>((r) => (settle = r));
      this.running.set(id, { cancel: () => this.cancelRequested.add(id), done });
      void this.run(id).finally(() => {
        this.running.delete(id);
        this.cancelRequested.delete(id);
        settle();
        this.pump();
      });
    }
  }

  private async run(id: string) {
    const database = this.deps.database();
    const log = this.deps.logger.child({ job: id });
    try {
      const row = await repo.getJob(database, id);
      if (!row || !isActive(row.state)) return;
      const plan = storedPlan(row.kind, row.params, row.gameIds.length);
      const store = await this.deps.stores.storeFor(row.gameIds);
      const { entries, exits } = planPairs(plan);
      const splits = planSplits(plan);
      const done = await repo.loadUnits(database, id);
      // The unit size is fixed on the first run: a resumed job must cut its units the same way.
      const fixed: JobPlan = { ...plan, unit_size: plan.unit_size ?? defaultUnitSize(store) };
      if (this.stopping) return;
      if (this.cancelRequested.has(id)) {
        await this.transition(id, "cancelled", {});
        log.info("job cancelled before it ran");
        return;
      }
      await this.transition(id, "running", {}, { startedAt: row.startedAt ?? new Date(), plan: fixed });
      const job: ComputeJob = {
        id, kind: plan.kind === "grid_search" ? "grid" : "simulation", store, entries, exits, fee: plan.params.fee, splits,
        unitSize: fixed.unit_size!, done,
      };
      const handle = this.deps.pool.submit(job, {
        onProgress: (counts, countedAt) => this.progress(id, counts, countedAt),
        onUnits: async (batch) => {
          await repo.saveUnits(database, id, batch);
          const s = handle.snapshot();
          await repo.updateJob(database, id, { current: s.current, currentCombo: s.current_combo });
        },
      });
      this.running.set(id, { cancel: () => handle.cancel(), done: this.running.get(id)!.done });
      if (this.cancelRequested.has(id)) handle.cancel();
      this.progress(id, handle.snapshot());
      log.info("job running", { kind: plan.kind, games: store.games, pairs: plan.pairs, resumed_units: done.length });
      const outcome: JobOutcome = await handle.result;
      if (this.stopping && outcome.status !== "complete") return; // left running: the next start resumes it
      const final = handle.snapshot();
      if (outcome.status === "complete") {
        const { rows, summary } = buildResultRows(id, outcome.result, store.ids, entries, exits, splits);
        await repo.completeJob(database, id, rows, summary, final.total, final.current_combo);
        await this.transition(id, "complete", { ...final, current: final.total });
        log.info("job complete");
      } else if (outcome.status === "cancelled") {
        await this.transition(id, "cancelled", final);
        log.info("job cancelled", { current: final.current });
      } else {
        await this.fail(id, outcome.message, final);
      }
    } catch (err) {
      if (this.stopping) return;
      log.error("job failed", { error: err as Error });
      await this.fail(id, (err as Error).message).catch((e) => log.error("could not record the failure", { error: e as Error }));
    }
  }

  private async fail(id: string, message: string, last?: ProgressCounts) {
    await this.transition(id, "error", last ?? {}, { error: message });
  }
}
