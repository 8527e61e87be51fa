// Jobs across the daemons that share a PostgreSQL (cluster.md). One node owns a job's life (the
// scheduler there: its states, the fold of all its units, its results); every node's pool computes
// its units, claimed from job_claims (src/cluster/job-claims.ts). This module is the scheduler's
// link to the others:
// - as owner: the job's claim rows, a feeder that claims units for this node's run, and the
//   partials the others stored, read back and folded in (told by a `units` message, and swept from
//   the store every poll in case one was missed);
// - as helper: it joins the running jobs other nodes own while they have free units, stores what it
//   computes, and leaves when nothing is left or the job ended;
// - snapshots of the jobs this node owns go out on the bus (coalesced per job per flush), and those
//   of others come in, so a job can be watched from any node; a cancel for a job another live node
//   owns is sent to it, and a job whose owner died is adopted by the next node that polls.
import type { JobHandle, Pool } from "../compute/pool";
import type { UnitPartial } from "../compute/units";
import type { Database } from "../db/database";
import type { Logger } from "../log/logger";
import type { Clock } from "../realtime/transport";
import { rootMessage } from "../db/disk";
import { computeJobOf } from "../jobs/compute-job";
import * as repo from "../jobs/repository";
import { isJobId } from "../jobs/ids";
import { isActive, isTerminal, JOB_STATES, snapshotOf, type JobSnapshot } from "../jobs/states";
import type { GameStoreCache } from "../jobs/stores";
import type { ClusterBus } from "./bus";
import * as claims from "./job-claims";
import { UnitFeeder } from "./unit-feeder";

export interface ClusterJobsDeps {
  database: () => Database;
  /** The bus once this node's id is known (it is made when the database is open). */
  bus: () => ClusterBus;
  clock: Clock;
  /** A node whose heartbeat is older than this is gone (--lease-ms). */
  leaseMs: number;
  /** How often to look for jobs to help with or adopt, and for stored units a message missed (--heartbeat-ms). */
  pollMs: number;
  pool: Pool;
  stores: GameStoreCache;
  logger: Logger;
}

/** What the scheduler hears from the cluster. */
export interface ClusterEvents {
  /** The newest snapshot of a job another node owns. */
  snapshot(id: string, snapshot: JobSnapshot): void;
  /** Another node asks this one, the owner, to cancel a job. */
  cancel(id: string): void;
  /** Jobs whose owner died, now this node's: queue them. */
  adopted(ids: string[]): void;
  /** Jobs of other nodes this one shows as queued or running (checked against the store each poll). */
  watched(): string[];
}

/** The owner's link of one running job to the cluster. */
export interface OwnerLink {
  onHandout(): void;
  /** Stops claiming; `ended`: the job left running, its unclaimed units are dropped. */
  detach(ended: boolean): Promise<void>;
}

interface HelperRun {
  /** Both unset while the job's store loads. */
  handle?: JobHandle;
  feeder?: UnitFeeder;
  /** Settles when the run has left the pool and its claims are released. */
  done: Promise<void>;
}

/** A snapshot as an owner sends it: a known state, counts that are counts. */
const isSnapshot = (s: unknown): s is JobSnapshot => {
  const x = s as JobSnapshot | null;
  const count = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  return !!x && typeof x === "object" && (JOB_STATES as readonly string[]).includes(x.status) && count(x.current) && count(x.total)
    && x.current <= x.total && typeof x.current_combo === "string" && (x.error === undefined || typeof x.error === "string");
};

export class ClusterJobs {
  private readonly owned = new Map<string, { handle: JobHandle; absorbing: Promise<void> }>();
  private readonly helping = new Map<string, HelperRun>();
  private events?: ClusterEvents;
  private timer: unknown;
  private polling: Promise<void> | undefined;
  private stopped = false;
  readonly figures = { unitsAbsorbed: 0, unitsHelped: 0, claims: 0, adopted: 0, cancelsSent: 0 };

  /** The figures as /health's `cluster.jobs` shows them. */
  report() {
    const f = this.figures;
    return { units_helped: f.unitsHelped, units_absorbed: f.unitsAbsorbed, claims: f.claims, adopted: f.adopted, cancels_sent: f.cancelsSent };
  }

  constructor(private readonly deps: ClusterJobsDeps) {}

  get self(): string {
    return this.deps.bus().self;
  }

  who(): claims.Claimant {
    return { node: this.self, aliveAfter: Math.round(this.deps.clock.now()) - this.deps.leaseMs };
  }

  /** Hears the others (after the scheduler has resumed its own jobs) and starts polling. */
  start(events: ClusterEvents): void {
    this.events = events;
    const bus = this.deps.bus();
    bus.on("job", (m) => {
      if (!isJobId(m.id) || !isSnapshot(m.s)) return;
      if (this.owned.has(m.id)) return; // this node owns it: its own snapshot is the truth
      events.snapshot(m.id, m.s);
      if (isTerminal(m.s.status)) this.leave(m.id);
    });
    bus.on("job-running", (m) => {
      if (isJobId(m.id)) void this.join(m.id);
    });
    bus.on("units", (m) => {
      if (!isJobId(m.job) || !Array.isArray(m.units)) return;
      const units = m.units.filter((u): u is number => Number.isInteger(u) && u >= 0);
      this.absorb(m.job, units);
    });
    bus.on("cancel", (m) => {
      if (isJobId(m.id) && this.owned.has(m.id)) events.cancel(m.id);
    });
    // Messages missed while the LISTEN connection was down: the store has what they said.
    bus.onResync(() => void this.poll());
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.clock.clearTimeout(this.timer);
    await this.polling;
    const runs = [...this.helping.keys()];
    for (const id of runs) this.leave(id);
    await Promise.all([...this.helping.values()].map((r) => r.done));
  }

  /** At start: jobs this node id owned, and orphans. Claims a previous process of this id held are released. */
  async resumable(): Promise<string[]> {
    const database = this.deps.database();
    await claims.releaseAllClaims(database, this.self);
    return claims.adoptJobs(database, this.who(), "with own");
  }

  /** The snapshot of a job this node owns, for the others (the newest per flush is sent). */
  announce(id: string, snapshot: JobSnapshot): void {
    this.deps.bus().send({ t: "job", id, s: snapshot }, `job:${id}`);
  }

  /** A job starts running here: its claim rows, a feeder for this node's run, the others told. */
  async attach(id: string, handle: JobHandle): Promise<OwnerLink> {
    const database = this.deps.database();
    await claims.createClaims(database, id, handle.units);
    const feeder = this.feeder(id, handle);
    this.owned.set(id, { handle, absorbing: Promise.resolve() });
    this.deps.bus().send({ t: "job-running", id });
    feeder.wake();
    // Units stored before this run began (a resume) are in `done`; those the others store from now on come as messages.
    return {
      onHandout: () => feeder.wake(),
      detach: async (ended) => {
        this.owned.delete(id);
        await feeder.stop();
        this.figures.claims += feeder.claims;
        try {
          if (ended) await claims.dropClaims(database, id);
          else await claims.releaseClaims(database, id, this.self);
        } catch (err) {
          this.deps.logger.warn("could not release the job's claims: they come free when this node's lease runs out", { job: id, error: (err as Error).message });
        }
      },
    };
  }

  /**
   * Cancels a job this node does not run: sent to its owner when that one is alive (true), or,
   * when its owner is gone, cancelled here in the store (the snapshot). Undefined: not active.
   */
  async cancelElsewhere(id: string): Promise<"sent" | JobSnapshot | undefined> {
    const database = this.deps.database();
    const row = await repo.getJob(database, id);
    if (!row || !isActive(row.state)) return undefined;
    if (await claims.liveOwner(database, id, this.who())) {
      this.deps.bus().send({ t: "cancel", id });
      this.figures.cancelsSent++;
      this.leave(id);
      return "sent";
    }
    const taken = await claims.cancelOrphan(database, id, this.who());
    if (!taken) return undefined;
    await claims.dropClaims(database, id);
    this.leave(id);
    const snapshot: JobSnapshot = { status: "cancelled", current: Number(taken.current), total: Number(taken.total), current_combo: taken.current_combo };
    this.announce(id, snapshot);
    return snapshot;
  }

  // ---- helping with the others' jobs

  private feeder(id: string, handle: JobHandle): UnitFeeder {
    return new UnitFeeder(id, handle, {
      database: this.deps.database, clock: this.deps.clock, who: () => this.who(),
      depth: 2 * this.deps.pool.stats().size, retryMs: this.deps.pollMs, logger: this.deps.logger,
    });
  }

  /** Joins a running job another node owns, while it has units no live node holds. */
  /** Never rejects: it runs on other nodes' messages, with nobody to hear a failure. */
  private async join(id: string): Promise<void> {
    if (this.stopped || this.helping.has(id) || this.owned.has(id)) return;
    let row: repo.JobRow | undefined;
    try {
      row = await repo.getJob(this.deps.database(), id);
      if (!row || row.state !== "running" || !row.ownerNode || row.ownerNode === this.self) return;
      if (repo.planOf(row).unit_size == null || !(await claims.hasClaimable(this.deps.database(), id, this.who().aliveAfter))) return;
    } catch (err) {
      this.deps.logger.warn("could not look at a job to help with", { job: id, error: rootMessage(err) });
      return;
    }
    const database = this.deps.database();
    const plan = repo.planOf(row);
    if (this.stopped || this.helping.has(id) || this.owned.has(id)) return;
    let settle!: () => void;
    const placeholder: HelperRun = { done: new Promise((r) => (settle = r)) };
    this.helping.set(id, placeholder);
    const log = this.deps.logger.child({ job: id });
    try {
      const store = await this.deps.stores.storeFor(row.gameIds);
      if (!this.helping.has(id)) return; // left (the job ended) while the store loaded
      let feeder!: UnitFeeder;
      const handle = this.deps.pool.submit(computeJobOf(id, plan, store, [], true), {
        onHandout: () => feeder.wake(),
        onUnits: async (batch) => {
          await this.store(id, batch);
          this.figures.unitsHelped += batch.length;
          this.leaveIfDone(id);
        },
      });
      feeder = this.feeder(id, handle);
      placeholder.handle = handle;
      placeholder.feeder = feeder;
      log.info("helping with a job another node owns", { owner: row.ownerNode, games: store.games });
      feeder.wake();
      const outcome = await handle.result;
      await feeder.stop();
      this.figures.claims += feeder.claims;
      if (outcome.status === "error") log.warn("helping with the job failed; its units go back to the others", { error: outcome.message });
      await claims.releaseClaims(database, id, this.self).catch(() => {}); // else they come free with this node's lease
    } catch (err) {
      log.warn("could not help with the job", { error: (err as Error).message });
      await claims.releaseClaims(database, id, this.self).catch(() => {});
    } finally {
      this.helping.delete(id);
      settle();
    }
  }

  /** Stores a helper's units and their claims' removal together, then tells the owner. */
  private async store(id: string, batch: UnitPartial[]): Promise<void> {
    await repo.saveUnits(this.deps.database(), id, batch, { claims: true });
    this.deps.bus().send({ t: "units", job: id, units: batch.map((p) => p.unit) });
  }

  private leaveIfDone(id: string): void {
    const run = this.helping.get(id);
    if (!run?.handle || !run.feeder) return;
    const { waiting, inFlight } = run.handle.outstanding();
    if (run.feeder.exhausted && waiting === 0 && inFlight === 0) run.handle.cancel();
  }

  /** Stops helping with a job (it ended, or was cancelled): units on workers are dropped. */
  private leave(id: string): void {
    const run = this.helping.get(id);
    if (!run) return;
    if (run.handle) run.handle.cancel();
    else this.helping.delete(id); // still loading its store: join() sees it gone
  }

  // ---- the owner's fold of the others' units

  private absorb(id: string, only?: number[]): void {
    const link = this.owned.get(id);
    if (!link) return;
    const { handle } = link;
    link.absorbing = link.absorbing.then(async () => {
      if (!this.owned.has(id)) return;
      const partials = await claims.storedUnitsExcept(this.deps.database(), id, (u) => handle.has(u), only);
      this.figures.unitsAbsorbed += partials.length;
      handle.absorb(partials);
    }).catch((err) => this.deps.logger.warn("reading units stored by other nodes failed; the next sweep tries again", { job: id, error: (err as Error).message }));
  }

  // ---- polling

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
        this.schedule();
      });
    }, this.deps.pollMs);
  }

  /**
   * Adopts orphans, joins the others' running jobs, sweeps stored units, and corrects what this
   * node shows of the others' jobs from the store (their active ones, and those it shows as
   * active, in case a message was missed: their rows lag the owner's messages by a unit batch,
   * and the scheduler never lets a snapshot go back); never rejects.
   */
  private async poll(): Promise<void> {
    if (this.stopped) return;
    try {
      const database = this.deps.database();
      for (const r of await claims.othersJobs(database, this.self, this.events?.watched() ?? [])) {
        if (!this.owned.has(r.id)) this.events?.snapshot(r.id, snapshotOf(r));
      }
      const adopted = await claims.adoptJobs(database, this.who(), "others only");
      if (adopted.length > 0) {
        this.figures.adopted += adopted.length;
        this.deps.logger.info("adopting jobs whose node is gone", { jobs: adopted.length });
        // Helping with one of them ends first: the pool runs a job once, and the owner's run takes over.
        for (const id of adopted) this.leave(id);
        await Promise.all(adopted.map((id) => this.helping.get(id)?.done));
        this.events?.adopted(adopted);
      }
      for (const id of this.owned.keys()) this.absorb(id);
      const running = new Set(await claims.othersRunningJobs(database, this.who()));
      for (const id of this.helping.keys()) if (!running.has(id)) this.leave(id);
      for (const id of running) void this.join(id);
      for (const id of this.helping.keys()) this.leaveIfDone(id);
    } catch (err) {
      this.deps.logger.warn("cluster job poll failed", { error: rootMessage(err) });
    }
  }
}
