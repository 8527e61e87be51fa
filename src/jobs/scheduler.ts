// Jobs from submission to a terminal state (src/jobs/states.ts): the one owner of a job's state.
// Runs jobs on the compute pool within the running/queued limits, persists finished units as they
// come (a restart resumes from them), stores results, and hands plain snapshots to `publish`.
// The pool only counts; every state change is made here, through `transition`.
// While the store is away (store_unavailable, src/db/breaker.ts) running jobs go on: finished
// units wait in memory (src/jobs/unit-buffer.ts) up to `maxBufferedUnits`, the pool pauses at
// that bound, and every store write of a job (its units, its state, its results) waits for the
// store to come back instead of failing the job.
import type { ComputeJob, JobOutcome, Pool } from "../compute/pool";
import { defaultUnitSize } from "../compute/pool";
import type { ProgressCounts } from "../compute/progress";
import type { Database } from "../db/database";
import { retryDelay } from "../db/breaker";
import { DomainError, domainErrorOf } from "../errors";
import type { Logger } from "../log/logger";
import { planPairs, planSplits, storedPlan, type JobPlan } from "./plan";
import { buildResultRows } from "./results";
import * as repo from "./repository";
import { canTransition, isActive, snapshotOf, type JobSnapshot, type JobState } from "./states";
import type { GameStoreCache } from "./stores";
import { UnitBuffer } from "./unit-buffer";
import { computeJobOf } from "./compute-job";
import type { ClusterJobs, OwnerLink } from "../cluster/cluster-jobs";

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
  /** Finished units held in memory, all jobs together, while the store cannot take them (default 1024). */
  maxBufferedUnits?: number;
  /** Daemons sharing a PostgreSQL (cluster.md): jobs this node owns are computed by every node's
   *  pool, and the others' jobs are watched and cancelled from here. None on PGlite. */
  cluster?: ClusterJobs;
}

const isUnavailable = (err: unknown) => domainErrorOf(err)?.code === "store_unavailable";

/** How long a cancel sent to another node waits for its answer before saying what it knows. */
const CANCEL_WAIT_MS = 5000;

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
  /** Units (and their bytes) waiting for the store, all jobs together; the pool pauses at the bound. */
  private readonly buffered = { units: 0, bytes: 0, peakUnits: 0, peakBytes: 0 };
  private pausedForStore = false;

  constructor(private readonly deps: SchedulerDeps) {}

  /** What waits for the store now, and the most that ever did (for /health and the bench). */
  bufferStats() {
    return { ...this.buffered, paused: this.pausedForStore, bound: this.bound };
  }

  private get bound(): number {
    return this.deps.maxBufferedUnits ?? 1024;
  }

  /**
   * Runs a store call until it goes through: store_unavailable waits (through the breaker's open
   * window) and tries again; anything else, or a stop, is thrown. Never gives up on its own: a
   * job's writes are what let it finish with the results of an uninterrupted run.
   */
  private async untilStored<T>(call: () => Promise<T>): Promise<T> {
    let logged = false;
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (this.stopping || !isUnavailable(err)) throw err;
        if (!logged) this.deps.logger.warn("store unavailable; job writes wait for it", { error: (err as Error).message });
        logged = true;
        await retryDelay(this.breaker(), 250);
      }
    }
  }

  private breaker() {
    try {
      return this.deps.database().breaker;
    } catch {
      return undefined; // the database is not open: retryDelay waits its default
    }
  }

  private held(units: number, bytes: number) {
    const b = this.buffered;
    b.units += units;
    b.bytes += bytes;
    b.peakUnits = Math.max(b.peakUnits, b.units);
    b.peakBytes = Math.max(b.peakBytes, b.bytes);
    if (!this.pausedForStore && b.units >= this.bound) {
      this.pausedForStore = true;
      this.deps.pool.pause();
      this.deps.logger.warn("finished units wait for the store; workers paused", { units: b.units, bytes: b.bytes });
    } else if (this.pausedForStore && b.units < this.bound) {
      this.pausedForStore = false;
      this.deps.pool.resume();
      this.deps.logger.info("finished units stored; workers resumed", { units: b.units });
    }
  }

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
      ownerNode: this.deps.cluster?.self ?? null,
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
    const cluster = this.deps.cluster;
    let rows = await repo.unfinishedJobs(this.deps.database());
    if (cluster) {
      // Only the jobs this node id owned, and orphans: the others' go on where they run.
      const mine = new Set(await cluster.resumable());
      for (const r of rows) if (!mine.has(r.id)) this.snapshots.set(r.id, snapshotOf(r));
      rows = rows.filter((r) => mine.has(r.id));
    }
    for (const row of rows) this.enqueue(row);
    if (rows.length) this.deps.logger.info("resuming jobs", { jobs: rows.length });
    this.pump();
    cluster?.start({
      snapshot: (id, s) => {
        if (this.running.has(id) || this.queue.includes(id)) return;
        // The store's row lags the owner's messages: never show a watcher progress going back.
        const known = this.snapshots.get(id);
        if (known && known.status === s.status && s.current < known.current) return;
        if (known && !isActive(known.status)) return; // a job that ended stays ended
        this.set(id, s, undefined, "remote");
      },
      cancel: (id) => void this.cancel(id),
      adopted: (ids) => void this.adopt(ids),
      watched: () => [...this.snapshots].filter(([id, s]) => isActive(s.status) && !this.running.has(id) && !this.queue.includes(id)).map(([id]) => id),
    });
    return rows.length;
  }

  /** An interrupted `running` job is queued again: running -> queued is an allowed transition. */
  private enqueue(row: Pick<repo.JobRow, "id" | "state" | "current" | "total" | "currentCombo" | "error">) {
    this.set(row.id, { ...snapshotOf(row), status: "queued" });
    this.queue.push(row.id);
  }

  /** Jobs whose node died, handed to this one by the cluster: queued here (running ones resume from their units). */
  private async adopt(ids: string[]) {
    for (const id of ids) {
      if (this.stopping || this.running.has(id) || this.queue.includes(id)) continue;
      const row = await repo.getJob(this.deps.database(), id).catch(() => undefined);
      if (row && isActive(row.state)) this.enqueue(row);
    }
    this.pump();
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
    return this.deps.cluster ? this.cancelElsewhere(this.deps.cluster, id) : undefined;
  }

  /** A job another node owns: its owner cancels it (we wait for its last snapshot), or we do if it is gone. */
  private async cancelElsewhere(cluster: ClusterJobs, id: string): Promise<JobSnapshot | undefined> {
    const answer = await cluster.cancelElsewhere(id);
    if (answer === undefined) return undefined;
    if (answer !== "sent") {
      this.set(id, answer, undefined, "remote");
      return answer;
    }
    // The owner's terminal snapshot comes over the bus; the store says it too if that is missed.
    const deadline = Date.now() + CANCEL_WAIT_MS;
    for (let n = 0; Date.now() < deadline; n++) {
      const s = this.snapshots.get(id);
      if (s && !isActive(s.status)) return s;
      await Bun.sleep(50);
      if (n % 5 === 4) {
        const row = await repo.getJob(this.deps.database(), id);
        if (row && !isActive(row.state)) return snapshotOf(row);
      }
    }
    return this.snapshots.get(id) ?? { status: "running", current: 0, total: 0, current_combo: "" };
  }

  stats() {
    const b = this.buffered;
    return { running: this.running.size, queued: this.queue.length, buffered_units: b.units, paused_for_store: this.pausedForStore };
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
    await this.deps.cluster?.stop();
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
      await this.untilStored(() => repo.updateJob(this.deps.database(), id, {
        state: to, current: next.current, currentCombo: next.current_combo,
        ...(extra.error !== undefined ? { error: extra.error } : {}),
        ...(extra.startedAt ? { startedAt: extra.startedAt } : {}),
        ...(extra.plan ? { params: extra.plan } : {}),
        ...(terminal ? { finishedAt: new Date() } : {}),
      }));
    }
    this.set(id, next);
  }

  /** `remote`: a snapshot of a job another node owns (not sent on to the others). */
  private set(id: string, s: JobSnapshot, countedAt?: number, origin: "local" | "remote" = "local") {
    if (origin === "local") this.deps.cluster?.announce(id, s);
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
      const row = await this.untilStored(() => repo.getJob(database, id));
      if (!row || !isActive(row.state)) return;
      const plan = storedPlan(row.kind, row.params, row.gameIds.length);
      const store = await this.untilStored(() => this.deps.stores.storeFor(row.gameIds));
      const { entries, exits } = planPairs(plan);
      const splits = planSplits(plan);
      const cluster = this.deps.cluster;
      const done = await this.untilStored(() => repo.loadUnits(database, id));
      // The unit size is fixed on the first run: a resumed job must cut its units the same way.
      const fixed: JobPlan = { ...plan, unit_size: plan.unit_size ?? defaultUnitSize(store) };
      if (this.stopping) return;
      if (this.cancelRequested.has(id)) {
        await this.transition(id, "cancelled", {});
        log.info("job cancelled before it ran");
        return;
      }
      await this.transition(id, "running", {}, { startedAt: row.startedAt ?? new Date(), plan: fixed });
      const job: ComputeJob = computeJobOf(id, fixed, store, done, cluster !== undefined);
      const units = new UnitBuffer({
        write: async (batch) => {
          await repo.saveUnits(database, id, batch, { claims: cluster !== undefined });
          const s = handle.snapshot();
          await repo.updateJob(database, id, { current: s.current, currentCombo: s.current_combo });
        },
        retry: (call) => this.untilStored(call),
        released: (n, bytes) => this.held(-n, -bytes),
        failed: (err) => {
          if (this.stopping) return; // left running: the next start computes those units again
          log.error("storing unit results failed", { error: err as Error });
          handle.fail(`storing results failed: ${(err as Error).message}`);
        },
      });
      let link: OwnerLink | undefined;
      const handle = this.deps.pool.submit(job, {
        onHandout: () => link?.onHandout(),
        onProgress: (counts, countedAt) => this.progress(id, counts, countedAt),
        onUnits: (batch) => {
          const before = units.bytes;
          units.add(batch);
          this.held(batch.length, units.bytes - before);
        },
      });
      this.running.set(id, { cancel: () => handle.cancel(), done: this.running.get(id)!.done });
      if (this.cancelRequested.has(id)) handle.cancel();
      this.progress(id, handle.snapshot());
      if (cluster) link = await this.untilStored(() => cluster.attach(id, handle));
      log.info("job running", { kind: plan.kind, games: store.games, pairs: plan.pairs, resumed_units: done.length });
      const outcome: JobOutcome = await handle.result.finally(() => link?.detach(!this.stopping));
      if (this.stopping && outcome.status !== "complete") return; // left running: the next start resumes it
      const final = handle.snapshot();
      // Every unit stored before the results: a restart after this point resumes from them.
      await units.drained().catch((err) => {
        if (outcome.status === "complete") throw err;
      });
      if (outcome.status === "complete") {
        const { rows, summary } = buildResultRows(id, outcome.result, store.ids, entries, exits, splits);
        await this.untilStored(() => repo.completeJob(database, id, rows, summary, final.total, final.current_combo));
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
