// Jobs from submission to a terminal state: queued -> running -> complete | error | cancelled.
// Runs them on the compute pool within the running/queued limits, persists finished units as they
// come (a restart resumes from them), stores results, and hands plain snapshots to `publish`.
import { gridPairs, type GridParams } from "../compute/grid";
import { defaultUnitSize, type JobOutcome, type Pool } from "../compute/pool";
import type { ProgressSnapshot } from "../compute/progress";
import { splitBounds } from "../compute/splits";
import type { Database } from "../db/database";
import { DomainError } from "../errors";
import type { Logger } from "../log/logger";
import { buildResultRows } from "./results";
import * as repo from "./repository";
import type { GameStoreCache } from "./stores";

export interface JobSnapshot extends Omit<ProgressSnapshot, "status"> {
  status: repo.JobState;
  error?: string;
}

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

export type SimulationParams = { entry: number; exit: number; fee: number };
export type JobParams = (GridParams | SimulationParams) & { unit_size?: number };

/** Finished jobs whose last snapshot stays in memory for late subscribers and progress polls. */
const KEEP_FINISHED = 1000;

export class JobScheduler {
  private readonly queue: string[] = [];
  private readonly running = new Map<string, { cancel(): void }>();
  /** Cancels that arrived while a job was starting (before the pool had it). */
  private readonly cancelRequested = new Set<string>();
  private readonly snapshots = new Map<string, JobSnapshot>();
  private stopping = false;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Creates a queued job (429 when the queue is full) and returns its request id. */
  async submit(kind: repo.JobKind, params: JobParams, gameIds: string[], total: number): Promise<string> {
    if (this.queue.length >= this.deps.maxQueued) {
      throw new DomainError("queue_full", `${this.queue.length} jobs are already queued (the limit is ${this.deps.maxQueued}); try again when some finish`);
    }
    const id = crypto.randomUUID();
    await repo.insertJob(this.deps.database(), { id, kind, params, gameIds, total });
    this.set(id, { status: "queued", current: 0, total, current_combo: "" });
    this.queue.push(id);
    this.pump();
    return id;
  }

  /** Picks up jobs a previous process left queued or running; running ones resume from their units. */
  async resume(): Promise<number> {
    // Recent finished jobs first, so a socket or a poll for one gets its final state, not not_found.
    const recent = await repo.recentJobs(this.deps.database(), KEEP_FINISHED);
    for (const r of recent.reverse()) {
      if (r.state === "queued" || r.state === "running") continue;
      this.snapshots.set(r.id, { status: r.state, current: r.current, total: r.total, current_combo: r.currentCombo, ...(r.error ? { error: r.error } : {}) });
    }
    const rows = await repo.unfinishedJobs(this.deps.database());
    for (const row of rows) {
      this.set(row.id, { status: "queued", current: row.current, total: row.total, current_combo: row.currentCombo });
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

  async cancel(id: string): Promise<JobSnapshot | undefined> {
    const handle = this.running.get(id);
    if (handle) {
      handle.cancel();
      return this.snapshots.get(id);
    }
    const i = this.queue.indexOf(id);
    if (i >= 0) {
      this.queue.splice(i, 1);
      await repo.updateJob(this.deps.database(), id, { state: "cancelled", finishedAt: new Date() });
      const s = this.snapshots.get(id)!;
      this.set(id, { ...s, status: "cancelled" });
      return this.snapshots.get(id);
    }
    return undefined;
  }

  stats() {
    return { running: this.running.size, queued: this.queue.length };
  }

  /** Jobs this process knows, by state (for the metrics topic). */
  countsByState(): Record<string, number> {
    const out: Record<string, number> = { queued: 0, running: 0, complete: 0, error: 0, cancelled: 0 };
    for (const s of this.snapshots.values()) out[s.status] = (out[s.status] ?? 0) + 1;
    return out;
  }

  /** Stops taking work; running jobs stay `running` in the database with their units saved. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
  }

  private set(id: string, s: JobSnapshot, countedAt?: number) {
    this.snapshots.delete(id);
    this.snapshots.set(id, s);
    if (this.snapshots.size > KEEP_FINISHED + this.running.size + this.queue.length) {
      for (const [key, v] of this.snapshots) {
        if (this.snapshots.size <= KEEP_FINISHED) break;
        if (v.status !== "queued" && v.status !== "running") this.snapshots.delete(key);
      }
    }
    this.deps.publish(id, s, countedAt);
  }

  /** From the pool when workers wake the main thread. */
  progress(id: string, snap: ProgressSnapshot, countedAt?: number) {
    if (!this.running.has(id) || snap.status !== "running") return;
    this.set(id, { ...snap, status: "running" }, countedAt);
  }

  private pump() {
    while (!this.stopping && this.running.size < this.deps.maxRunning && this.queue.length > 0) {
      const id = this.queue.shift()!;
      this.running.set(id, { cancel: () => this.cancelRequested.add(id) });
      void this.run(id).finally(() => {
        this.running.delete(id);
        this.cancelRequested.delete(id);
        this.pump();
      });
    }
  }

  private async run(id: string) {
    const database = this.deps.database();
    const log = this.deps.logger.child({ job: id });
    try {
      const row = await repo.getJob(database, id);
      if (!row || (row.state !== "queued" && row.state !== "running")) return;
      const params = row.params as JobParams;
      const store = await this.deps.stores.storeFor(row.gameIds);
      const grid = row.kind === "grid_search";
      const { entries, exits } = grid ? gridPairs(params as GridParams) : { entries: Float64Array.of((params as SimulationParams).entry), exits: Float64Array.of((params as SimulationParams).exit) };
      const splits = grid ? splitBounds(store.games, (params as GridParams).train_fraction, (params as GridParams).valid_fraction) : undefined;
      const done = await repo.loadUnits(database, id);
      // The unit size is fixed on the first run: a resumed job must cut its units the same way.
      const unitSize = params.unit_size ?? defaultUnitSize(store);
      await repo.updateJob(database, id, { state: "running", startedAt: row.startedAt ?? new Date(), params: { ...params, unit_size: unitSize } });
      if (this.stopping) return;
      const handle = this.deps.pool.submit({
        id, kind: grid ? "grid" : "simulation", store, entries, exits, fee: params.fee, splits,
        unitSize, done,
        onUnits: async (batch) => {
          await repo.saveUnits(database, id, batch);
          const s = handle.snapshot();
          await repo.updateJob(database, id, { current: s.current, currentCombo: s.current_combo });
        },
      });
      this.running.set(id, handle);
      if (this.cancelRequested.has(id)) handle.cancel();
      this.set(id, { ...handle.snapshot(), status: "running" });
      log.info("job running", { kind: row.kind, games: store.games, pairs: entries.length, resumed_units: done.length });
      const outcome: JobOutcome = await handle.result;
      if (this.stopping && outcome.status !== "complete") return; // left running: the next start resumes it
      const final = handle.snapshot();
      if (outcome.status === "complete") {
        const { rows, summary } = buildResultRows(id, outcome.result, store.ids, entries, exits, splits);
        await repo.completeJob(database, id, rows, summary, final.total, final.current_combo);
        this.set(id, { ...final, current: final.total, status: "complete" });
        log.info("job complete");
      } else if (outcome.status === "cancelled") {
        await repo.updateJob(database, id, { state: "cancelled", current: final.current, currentCombo: final.current_combo, finishedAt: new Date() });
        this.set(id, { ...final, status: "cancelled" });
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

  private async fail(id: string, message: string, last?: ProgressSnapshot) {
    await repo.updateJob(this.deps.database(), id, { state: "error", error: message, finishedAt: new Date() });
    const prev = this.snapshots.get(id);
    this.set(id, { current: last?.current ?? prev?.current ?? 0, total: last?.total ?? prev?.total ?? 0, current_combo: last?.current_combo ?? prev?.current_combo ?? "", status: "error", error: message });
  }
}
