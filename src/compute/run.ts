// One job inside the pool: its unit plan and hand-out cursor, its progress block, the fold of
// its finished units, and the batches of partials handed to the caller for storage.
import { JUMP_MIN_TICKS } from "./kernel.ts";
import { ProgressBlock, type ProgressCounts } from "./progress.ts";
import { splitBounds, type SplitBounds } from "./splits.ts";
import type { GameStore } from "./store.ts";
import { GAME_BLOCK, GridFold, SimulationCollect, UnitPlan, type GridTotals, type Totals, type UnitPartial } from "./units.ts";
import type { ComputeKind } from "./worker.ts";

/** Pairs per unit when the job does not say. 256 pairs x 64 games of ~130 ticks is ~2 M
 *  pair-ticks (~2 ms): measured on such games, 64-pair units lost ~10% of a worker to messages. */
export const DEFAULT_UNIT_SIZE = 256;
const UNIT_PAIR_TICKS = 1 << 21;

/** A claimed job's finished units wait at most this long for their batch: on a cluster the job's
 *  owner folds them only once they are stored, so a long wait holds up the job's end. */
const CLAIMED_BATCH_MS = 25;

/** Pairs per unit on games long enough for the kernel's jumps (JUMP_MIN_TICKS). */
export const JUMP_UNIT_SIZE = 1024;

/** A unit size fitted to a store, for callers that know the store before they fix (and persist)
 *  the size. Games long enough for the kernel's jumps get JUMP_UNIT_SIZE pairs: a worker loads
 *  and indexes a game once per unit (~5 ns a tick, ten scans of a pair), and jumping pairs cost
 *  a fraction of a scan, so the more pairs share it the better: 256 -> 1024 pairs took 5,000-tick
 *  games from ~450 to ~320 ns a pair-game (scripts/bench-grid.ts). Shorter games: a power of two
 *  in [8, 1024] from the mean game length, ~2M pair-ticks a unit. */
export function defaultUnitSize(store: Pick<GameStore, "games" | "ticks">): number {
  const perGame = store.games > 0 ? store.ticks / store.games : 1;
  if (perGame >= JUMP_MIN_TICKS) return JUMP_UNIT_SIZE;
  const pairs = UNIT_PAIR_TICKS / (GAME_BLOCK * Math.max(1, perGame));
  return 2 ** Math.min(10, Math.max(3, Math.round(Math.log2(pairs))));
}

/** A job as the pool runs it: its pairs over a store's games, cut into units. */
export interface ComputeJob {
  id: string;
  kind: ComputeKind;
  store: GameStore;
  entries: Float64Array;
  exits: Float64Array;
  fee: number;
  /** Defaults to splitBounds(store.games); a simulation defaults to all games in one split. */
  splits?: SplitBounds;
  /** Pairs per unit; default DEFAULT_UNIT_SIZE. Resume only reuses `done` partials cut
   *  with the same size (others are computed again), so store it with the job. */
  unitSize?: number;
  /** Partials already stored by an earlier run of this job: not recomputed, not re-emitted. */
  done?: readonly UnitPartial[];
  /**
   * Units go to workers only once granted (JobHandle.grant): what a node of a cluster does, which
   * computes the units it claimed from the store (src/cluster/unit-feeder.ts) while others compute
   * the rest; their partials come back through JobHandle.absorb. Default: every unit, in order.
   */
  claimed?: boolean;
}

/** What a job's submitter hears while it runs (the outcome comes from the handle's result). */
export interface JobEvents {
  /**
   * Counts, when workers wake the main thread and when the job starts and ends, with the unix ms
   * at which a worker counted the newest progress in it (undefined before any count).
   */
  onProgress?: (counts: ProgressCounts, countedAt: number | undefined) => void;
  /** Finished units, batched. A returned promise is awaited before the job completes. */
  onUnits?: (batch: UnitPartial[]) => void | Promise<void>;
  /** A unit of a `claimed` job went to a worker: the granted units left may need topping up. */
  onHandout?: () => void;
}

export interface GridResult { kind: "grid"; pairs: number; splits: GridTotals }
export interface SimulationResult { kind: "simulation"; perGame: Totals; equity: Float64Array }
export type JobOutcome =
  | { status: "complete"; result: GridResult | SimulationResult }
  | { status: "cancelled" }
  | { status: "error"; message: string };

export interface RunDeps {
  batchUnits: number;
  batchMs: number;
  /** Storing a batch failed: the pool fails the job with this message. */
  onStoreError(run: JobRun, err: unknown): void;
}

function shareCopy(a: Float64Array): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

export class JobRun {
  readonly plan: UnitPlan;
  readonly progress: ProgressBlock;
  readonly fold: GridFold | SimulationCollect;
  /** SharedArrayBuffer-backed copies of the pairs, posted once to each worker. */
  readonly entries: Float64Array;
  readonly exits: Float64Array;
  readonly result: Promise<JobOutcome>;
  inFlight = 0;
  /** Set once its first unit is handed to a worker. */
  started = false;
  /** Pair-ticks handed out so far: what the pool's fair sharing balances. */
  served: number;
  outcome: JobOutcome | null = null;
  settled = false;
  lastPublished = -1;
  /** Resumed units that did not fit this plan (logged by the pool, then computed again). */
  readonly mismatched: number[] = [];
  private cursor = 0;
  private retry: number[] = [];
  /** Units granted and not yet handed out (claimed jobs only). */
  private granted: number[] = [];
  private readonly done: Uint8Array;
  private batch: UnitPartial[] = [];
  private batchTimer: ReturnType<typeof setTimeout> | null = null;
  private stored: Promise<void> = Promise.resolve();
  private resolve!: (o: JobOutcome) => void;

  constructor(readonly spec: ComputeJob, readonly events: JobEvents, served: number, private readonly deps: RunDeps) {
    if (spec.entries.length !== spec.exits.length) throw new RangeError("entries and exits differ in length");
    const sim = spec.kind === "simulation";
    if (sim && spec.entries.length !== 1) throw new RangeError("a simulation runs exactly one pair");
    const n = spec.store.games;
    const splits = spec.splits ?? (sim ? ({ train: [0, n], valid: [n, n], test: [n, n] } as SplitBounds) : splitBounds(n));
    this.plan = new UnitPlan(spec.entries.length, sim ? 1 : spec.unitSize ?? DEFAULT_UNIT_SIZE, splits);
    const progress = (this.progress = new ProgressBlock(spec.entries.length * n, spec.entries, spec.exits));
    this.fold = sim ? new SimulationCollect(this.plan, n) : new GridFold(this.plan, (p) => progress.setLastPair(p));
    this.entries = shareCopy(spec.entries);
    this.exits = shareCopy(spec.exits);
    this.done = new Uint8Array(this.plan.units);
    this.served = served;
    this.result = new Promise<JobOutcome>((r) => (this.resolve = r));
    for (const p of spec.done ?? []) {
      if (!this.plan.matches(p, sim) || !this.fold.add(p)) this.mismatched.push(p.unit);
      else this.counted(p.unit);
    }
  }

  get kind(): ComputeKind {
    return this.spec.kind;
  }

  hasWork(): boolean {
    if (this.outcome) return false;
    if (this.retry.length > 0) return true;
    if (this.spec.claimed) {
      while (this.granted.length > 0 && this.done[this.granted[0]!]) this.granted.shift();
      return this.granted.length > 0;
    }
    while (this.cursor < this.plan.units && this.done[this.cursor]) this.cursor++;
    return this.cursor < this.plan.units;
  }
  /** Only after hasWork() said yes. Requeued units go first. */
  nextUnit(): number {
    if (this.retry.length > 0) return this.retry.shift()!;
    return this.spec.claimed ? this.granted.shift()! : this.cursor++;
  }
  /** Units this node may compute now (a claimed job); those done or out of range are skipped. */
  grant(units: readonly number[]): void {
    if (this.outcome) return;
    for (const u of units) if (Number.isInteger(u) && u >= 0 && u < this.plan.units && !this.done[u]) this.granted.push(u);
  }
  has(unit: number): boolean {
    return this.done[unit] === 1;
  }
  /** Units granted or requeued and not on a worker yet. */
  waiting(): number {
    return this.outcome ? 0 : this.granted.length + this.retry.length;
  }
  requeue(unit: number): void {
    if (!this.outcome) this.retry.push(unit);
  }
  /** Pair-ticks of a unit, for fair sharing. */
  work(unit: number): number {
    const u = this.plan.unit(unit);
    const offsets = this.spec.store.offsets;
    return (u.pairTo - u.pairFrom) * (offsets[u.gameTo] - offsets[u.gameFrom]);
  }

  /** A finished unit from a worker: ignored once the job has ended or when already folded. */
  accept(partial: UnitPartial): "ignored" | "added" | "last" {
    if (this.outcome || !this.fold.add(partial)) return "ignored";
    this.done[partial.unit] = 1;
    if (this.kind === "simulation") this.progress.setLastPair(0);
    if (this.events.onUnits) {
      this.batch.push(partial);
      if (this.batch.length >= this.deps.batchUnits) this.flush();
      else this.batchTimer ??= setTimeout(() => this.flush(), this.spec.claimed ? Math.min(CLAIMED_BATCH_MS, this.deps.batchMs) : this.deps.batchMs);
    }
    return this.fold.complete ? "last" : "added";
  }

  /**
   * Partials computed and stored elsewhere (another node of the cluster): folded and counted like
   * resumed ones, never handed to onUnits. Ignored once the job ended, and for a unit already in.
   */
  absorb(partial: UnitPartial): "ignored" | "added" | "last" {
    if (this.outcome || this.done[partial.unit] || !this.plan.matches(partial, this.kind === "simulation") || !this.fold.add(partial)) return "ignored";
    this.counted(partial.unit);
    return this.fold.complete ? "last" : "added";
  }

  /** Hand the pending batch to onUnits now (storage calls run one after another). */
  flush(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
    const onUnits = this.events.onUnits;
    if (this.batch.length === 0 || !onUnits) return;
    const batch = this.batch;
    this.batch = [];
    this.stored = this.stored.then(() => onUnits(batch)).catch((err) => this.deps.onStoreError(this, err));
  }

  /** Resolves when every batch handed to onUnits so far has been stored (or failed). */
  async storedAll(): Promise<void> {
    let before: Promise<void>;
    do {
      before = this.stored;
      await before;
    } while (before !== this.stored);
  }

  finalResult(): GridResult | SimulationResult {
    const f = this.fold;
    return f instanceof GridFold
      ? { kind: "grid", pairs: this.plan.pairs, splits: f.totals }
      : { kind: "simulation", perGame: f.perGame, equity: f.equity() };
  }

  /** Record the outcome, stop hand-out and, unless complete, raise the cancel flag. */
  end(outcome: JobOutcome): boolean {
    if (this.outcome) return false;
    this.outcome = outcome;
    if (outcome.status !== "complete") this.progress.requestStop();
    this.retry = [];
    this.granted = [];
    this.cursor = this.plan.units;
    return true;
  }

  settle(): void {
    this.settled = true;
    this.resolve(this.outcome!);
  }

  private counted(unit: number): void {
    this.done[unit] = 1;
    this.progress.add(this.plan.weight(this.plan.unit(unit)));
    if (this.kind === "simulation") this.progress.setLastPair(0);
  }
}
