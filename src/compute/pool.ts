// A pool of long-lived compute Workers shared by concurrent jobs: work-fair unit hand-out,
// Atomics wake-ups for progress, cancel through a shared flag, crash isolation, batched results.
import type { Logger } from "../log/logger.ts";
import { silentLogger } from "../log/logger.ts";
import { workerUrl } from "../workers.ts";
import { CONTROL_WAKE, controlSlot, ProgressBlock, type ProgressSnapshot } from "./progress.ts";
import { splitBounds, type SplitBounds } from "./splits.ts";
import type { GameStore } from "./store.ts";
import { GAME_BLOCK, GridFold, SimulationCollect, UnitPlan, type GridTotals, type Totals, type UnitPartial } from "./units.ts";
// Types only: the worker module is loaded as a Worker, never into the main thread.
import type { FromWorker, JobKind, TestOnlyCrash, ToWorker } from "./worker.ts";

/** Pair-ticks per unit the default unit size aims at: ~2 ms of kernel work, so the ~35 us a
 *  unit costs in messages stays near 2%, while a crash or a resume loses little. */
const UNIT_PAIR_TICKS = 1 << 21;

/** Pairs per unit when the job does not say. 256 pairs x 64 games of ~130 ticks is ~2 M
 *  pair-ticks; measured on 130-tick games, 64-pair units lost ~10% of a worker to messages. */
export const DEFAULT_PAIR_BLOCK = 256;

/** A unit size fitted to a store: a power of two in [8, 1024] from its mean game length, for
 *  callers that know the store before they fix (and persist) the size. */
export function defaultUnitSize(store: Pick<GameStore, "games" | "ticks">): number {
  const perGame = store.games > 0 ? store.ticks / store.games : 1;
  const pairs = UNIT_PAIR_TICKS / (GAME_BLOCK * Math.max(1, perGame));
  return 2 ** Math.min(10, Math.max(3, Math.round(Math.log2(pairs))));
}
// Two units per worker: the next one is already queued when a result is posted back.
const MAX_IN_FLIGHT = 2;

export interface PoolOptions {
  size: number;
  workerUrl?: URL | string;
  logger?: Pick<Logger, "info" | "warn" | "error">;
  /** Called when workers wake the main thread (and on every state change), with a plain snapshot. */
  onProgress?: (jobId: string, snapshot: ProgressSnapshot) => void;
  /** onUnits batches: at most this many units, or this long after the first unit of a batch. */
  batchUnits?: number;
  batchMs?: number;
}

export interface JobSpec {
  id: string;
  kind: JobKind;
  store: GameStore;
  entries: Float64Array;
  exits: Float64Array;
  fee: number;
  /** Defaults to splitBounds(store.games); a simulation defaults to all games in one split. */
  splits?: SplitBounds;
  /** Pairs per unit; default DEFAULT_PAIR_BLOCK. Resume only reuses `done` partials cut
   *  with the same size (others are computed again), so store it with the job. */
  unitSize?: number;
  /** Partials already stored by an earlier run of this job: not recomputed, not re-emitted. */
  done?: readonly UnitPartial[];
  /** Finished units, batched. A returned promise is awaited before the job completes. */
  onUnits?: (batch: UnitPartial[]) => void | Promise<void>;
  /** TEST ONLY: see TestOnlyCrash in worker.ts. */
  testOnlyCrash?: TestOnlyCrash;
}

export interface GridResult { kind: "grid"; pairs: number; splits: GridTotals }
export interface SimulationResult { kind: "simulation"; perGame: Totals; equity: Float64Array }
export type JobOutcome =
  | { status: "complete"; result: GridResult | SimulationResult }
  | { status: "cancelled" }
  | { status: "error"; message: string };

export interface JobHandle {
  id: string;
  /** Pairs per unit this run uses (1 for a simulation): persist it to resume with the same cut. */
  unitSize: number;
  /** Settles once no worker is on the job any more; never rejects. */
  result: Promise<JobOutcome>;
  cancel(): void;
  snapshot(): ProgressSnapshot;
}

export interface PoolStats {
  size: number;
  /** Workers up (a dead one counts again once its replacement is spawned). */
  alive: number;
  busy: number;
  jobs: number;
  unitsDone: number;
  restarts: number;
  wakeups: number;
}

export interface Pool {
  submit(job: JobSpec): JobHandle;
  stats(): PoolStats;
  /** Flushes pending onUnits batches, settles unfinished jobs as errors, terminates workers. */
  close(): Promise<void>;
}

interface Run {
  spec: JobSpec;
  plan: UnitPlan;
  progress: ProgressBlock;
  fold: GridFold | SimulationCollect;
  entries: Float64Array; // SharedArrayBuffer-backed copies, posted once per worker
  exits: Float64Array;
  cursor: number;
  retry: number[];
  done: Uint8Array;
  inFlight: number;
  batch: UnitPartial[];
  batchTimer: ReturnType<typeof setTimeout> | null;
  persisted: Promise<void>;
  settled: boolean;
  outcome: JobOutcome | null;
  resolve: (o: JobOutcome) => void;
  lastPublished: number;
  /** Pair-ticks handed out so far: what fair sharing balances. */
  served: number;
}

interface Flight { token: number; run: Run; unit: number }
interface Slot {
  index: number;
  worker: Worker;
  alive: boolean; // false from its death until the replacement takes its place in `slots`
  ready: boolean;
  flights: Flight[];
  stores: Set<string>;
  jobs: Set<string>;
  deaths: number;
}

// Bun's Worker has ref/unref; the DOM typings in this project's lib do not know them.
function keepAlive(w: Worker, on: boolean): void {
  const bw = w as unknown as { ref(): void; unref(): void };
  if (on) bw.ref();
  else bw.unref();
}

/** Bun's ErrorEvent message carries a code frame and a stack; keep the "error: ..." line. */
function errorText(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /^\w*error: /i.test(l)) ?? lines[0] ?? "unknown error";
  return line.replace(/^error: /, "");
}

export function createPool(options: PoolOptions): Pool {
  const size = Math.max(1, Math.floor(options.size));
  // Resolved by src/workers.ts: inside the compiled binary a URL relative to this module is wrong.
  const url = options.workerUrl ?? workerUrl("compute");
  const log = options.logger ?? silentLogger;
  const batchUnits = options.batchUnits ?? 64;
  const batchMs = options.batchMs ?? 250;
  const control = new Int32Array(new SharedArrayBuffer(4 * (1 + size)));
  const runs: Run[] = [];
  const slots: Slot[] = [];
  let token = 0;
  let closed = false;
  const stats = { unitsDone: 0, restarts: 0, wakeups: 0 };

  const post = (slot: Slot, msg: ToWorker) => slot.worker.postMessage(msg);

  function spawn(index: number, deaths: number): Slot {
    const worker = new Worker(url);
    const slot: Slot = { index, worker, alive: true, ready: false, flights: [], stores: new Set(), jobs: new Set(), deaths };
    keepAlive(worker, false); // idle workers do not keep the process alive; ref'd while they hold units
    const die = (why: string) => {
      if (!slot.alive || closed) return;
      slot.alive = false;
      onDeath(slot, why);
    };
    worker.addEventListener("message", (e: MessageEvent) => {
      if (e.data?.type === "ready") slot.ready = true;
      else onMessage(slot, e.data as FromWorker);
    });
    worker.addEventListener("error", (e: ErrorEvent) => die(`worker crashed: ${errorText(e.message ?? String(e))}`));
    worker.addEventListener("close", (e: Event) => die(`worker exited (code ${(e as CloseEvent).code ?? "?"})`));
    post(slot, { type: "init", control: control.buffer as SharedArrayBuffer, slot: index });
    return slot;
  }

  function onDeath(slot: Slot, why: string): void {
    slot.worker.terminate();
    const running = Atomics.load(control, controlSlot(slot.index));
    Atomics.store(control, controlSlot(slot.index), 0);
    log.warn("compute worker died; replacing it", { slot: slot.index, reason: why, units: slot.flights.length });
    let passed = running === 0;
    for (const f of slot.flights) {
      f.run.inFlight--;
      // The unit it was running (or, before it was ready, any unit) fails its job; units queued
      // behind it never started and go back to their job's queue.
      if (f.token === running || !slot.ready) {
        fail(f.run, why);
        passed = true;
      } else {
        // A unit before the running one finished but its result was lost with the worker.
        if (!passed) f.run.progress.add(-f.run.plan.weight(f.run.plan.unit(f.unit)));
        f.run.retry.push(f.unit);
      }
      settleIfIdle(f.run);
    }
    slot.flights = [];
    const deaths = slot.ready ? 0 : slot.deaths + 1;
    // A worker that cannot even start would otherwise be respawned in a hot loop.
    const delay = deaths === 0 ? 0 : Math.min(5000, 100 * 2 ** (deaths - 1));
    setTimeout(() => {
      if (closed) return;
      slots[slot.index] = spawn(slot.index, deaths);
      stats.restarts++;
      pump();
    }, delay);
  }

  function onMessage(slot: Slot, msg: FromWorker): void {
    const i = slot.flights.findIndex((f) => f.token === msg.token);
    if (i < 0) return; // already written off (its job ended or its worker was declared dead)
    const { run, unit } = slot.flights[i];
    slot.flights.splice(i, 1);
    run.inFlight--;
    if (slot.flights.length === 0) keepAlive(slot.worker, false);
    if (msg.type === "done") accept(run, msg.partial);
    else if (msg.type === "failed") fail(run, `unit ${unit} failed: ${msg.message}`);
    else if (!run.outcome) run.retry.push(unit); // "stopped" without a cancel: run it again
    settleIfIdle(run);
    pump();
  }

  function accept(run: Run, partial: UnitPartial): void {
    if (run.outcome || !run.fold.add(partial)) return;
    run.done[partial.unit] = 1;
    stats.unitsDone++;
    if (run.spec.onUnits) {
      run.batch.push(partial);
      if (run.batch.length >= batchUnits) flush(run);
      else run.batchTimer ??= setTimeout(() => flush(run), batchMs);
    }
    if (run.spec.kind === "simulation") run.progress.setLastPair(0);
    if (run.fold.complete) complete(run);
  }

  function flush(run: Run): void {
    if (run.batchTimer) clearTimeout(run.batchTimer);
    run.batchTimer = null;
    if (run.batch.length === 0 || !run.spec.onUnits) return;
    const batch = run.batch;
    run.batch = [];
    const onUnits = run.spec.onUnits;
    run.persisted = run.persisted.then(() => onUnits(batch)).catch((err) => {
      log.error("storing unit results failed", { job: run.spec.id, err });
      fail(run, `storing results failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  async function complete(run: Run): Promise<void> {
    flush(run);
    await run.persisted;
    if (run.outcome) return; // storing failed meanwhile
    const f = run.fold;
    const result: GridResult | SimulationResult = f instanceof GridFold
      ? { kind: "grid", pairs: run.plan.pairs, splits: f.totals }
      : { kind: "simulation", perGame: f.perGame, equity: f.equity() };
    finish(run, { status: "complete", result });
  }

  /** Stop handing out the job's units and raise its flag; it settles when its units are back. */
  function finish(run: Run, outcome: JobOutcome): void {
    if (run.outcome) return;
    run.outcome = outcome;
    run.progress.setStatus(outcome.status);
    if (outcome.status !== "complete") run.progress.requestStop();
    run.retry = [];
    run.cursor = run.plan.units;
    publish(run);
    settleIfIdle(run);
  }

  function fail(run: Run, message: string): void {
    flush(run);
    finish(run, { status: "error", message });
  }

  function settleIfIdle(run: Run): void {
    if (!run.outcome || run.inFlight > 0 || run.settled) return;
    run.settled = true;
    runs.splice(runs.indexOf(run), 1);
    for (const s of slots) if (s.jobs.delete(run.spec.id)) post(s, { type: "job-end", jobId: run.spec.id });
    run.resolve(run.outcome);
  }

  function publish(run: Run): void {
    const snap = run.progress.snapshot();
    run.lastPublished = snap.current;
    try {
      options.onProgress?.(run.spec.id, snap);
    } catch (err) {
      // A failing listener must not stop the wake loop or the job.
      log.error("progress listener failed", { job: run.spec.id, err });
    }
  }

  function hasWork(run: Run): boolean {
    if (run.outcome) return false;
    if (run.retry.length > 0) return true;
    while (run.cursor < run.plan.units && run.done[run.cursor]) run.cursor++;
    return run.cursor < run.plan.units;
  }
  function nextUnit(run: Run): number {
    return run.retry.length > 0 ? run.retry.shift()! : run.cursor++;
  }

  /** Fair sharing by work, not by unit count: each free place on a worker goes to the job with
   *  work left that has been handed the fewest pair-ticks (the oldest on a tie), so a job cut
   *  into big units does not crowd out one cut into small units. */
  function pump(): void {
    if (closed) return;
    for (let depth = 0; depth < MAX_IN_FLIGHT; depth++) {
      for (const slot of slots) {
        if (!slot.alive || slot.flights.length > depth) continue;
        let picked: Run | null = null;
        for (const run of runs) if (hasWork(run) && (!picked || run.served < picked.served)) picked = run;
        if (!picked) return;
        dispatch(slot, picked, nextUnit(picked));
      }
    }
  }

  function unitWork(run: Run, unit: number): number {
    const u = run.plan.unit(unit);
    const offsets = run.spec.store.offsets;
    return (u.pairTo - u.pairFrom) * (offsets[u.gameTo] - offsets[u.gameFrom]);
  }

  function dispatch(slot: Slot, run: Run, unit: number): void {
    const { spec } = run;
    const key = spec.store.shared().key;
    if (!slot.stores.has(key)) {
      const inUse = new Set(runs.map((r) => r.spec.store.shared().key));
      for (const k of slot.stores) if (!inUse.has(k)) (slot.stores.delete(k), post(slot, { type: "drop-store", key: k }));
      post(slot, { type: "store", store: spec.store.shared() });
      slot.stores.add(key);
    }
    if (!slot.jobs.has(spec.id)) {
      post(slot, { type: "job", jobId: spec.id, kind: spec.kind, storeKey: key, entries: run.entries, exits: run.exits,
        fee: spec.fee, progress: run.progress.buffer, testOnlyCrash: spec.testOnlyCrash });
      slot.jobs.add(spec.id);
    }
    if (run.progress.status === "queued") {
      run.progress.setStatus("running");
      publish(run);
    }
    const t = ++token;
    if (slot.flights.length === 0) keepAlive(slot.worker, true);
    slot.flights.push({ token: t, run, unit });
    run.inFlight++;
    run.served += unitWork(run, unit);
    post(slot, { type: "unit", jobId: spec.id, token: t, unit: run.plan.unit(unit) });
  }

  // Woken by workers through the wake word (Atomics.waitAsync), never by a timer; re-armed after
  // each wake. A pending waitAsync does not keep the process alive.
  function armWake(): void {
    if (closed) return;
    const seen = Atomics.load(control, CONTROL_WAKE);
    const w = Atomics.waitAsync(control, CONTROL_WAKE, seen);
    if (w.async) w.value.then(onWake);
    else setImmediate(onWake); // bumped between the load and the wait
  }
  function onWake(): void {
    if (closed) return;
    stats.wakeups++;
    for (const run of runs) if (!run.outcome && run.progress.current !== run.lastPublished) publish(run);
    armWake();
  }

  function shareCopy(a: Float64Array): Float64Array {
    const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
    out.set(a);
    return out;
  }

  function submit(spec: JobSpec): JobHandle {
    if (closed) throw new Error("pool is closed");
    if (runs.some((r) => r.spec.id === spec.id)) throw new Error(`job ${spec.id} is already running`);
    if (spec.entries.length !== spec.exits.length) throw new RangeError("entries and exits differ in length");
    const sim = spec.kind === "simulation";
    if (sim && spec.entries.length !== 1) throw new RangeError("a simulation runs exactly one pair");
    const n = spec.store.games;
    const splits = spec.splits ?? (sim ? { train: [0, n], valid: [n, n], test: [n, n] } as SplitBounds : splitBounds(n));
    const plan = new UnitPlan(spec.entries.length, sim ? 1 : spec.unitSize ?? DEFAULT_PAIR_BLOCK, splits);
    const progress = new ProgressBlock(spec.entries.length * n, spec.entries, spec.exits);
    let resolve!: (o: JobOutcome) => void;
    const result = new Promise<JobOutcome>((r) => (resolve = r));
    const run: Run = {
      spec, plan, progress, entries: shareCopy(spec.entries), exits: shareCopy(spec.exits),
      fold: sim ? new SimulationCollect(plan, n) : new GridFold(plan, (p) => progress.setLastPair(p)),
      cursor: 0, retry: [], done: new Uint8Array(plan.units), inFlight: 0, batch: [], batchTimer: null,
      persisted: Promise.resolve(), settled: false, outcome: null, resolve, lastPublished: -1,
      // A newcomer starts level with the least-served running job, not at 0: it gets its fair
      // share from now on instead of the whole pool until it has "caught up".
      served: Math.min(Infinity, ...runs.filter(hasWork).map((r) => r.served)),
    };
    if (!Number.isFinite(run.served)) run.served = 0;
    for (const p of spec.done ?? []) {
      const ok = plan.matches(p, sim) && run.fold.add(p);
      if (!ok) log.warn("stored unit does not match this job's plan; computing it again", { job: spec.id, unit: p.unit });
      else {
        run.done[p.unit] = 1;
        progress.add(plan.weight(plan.unit(p.unit)));
        if (sim) progress.setLastPair(0);
      }
    }
    runs.push(run);
    publish(run);
    if (run.fold.complete) void complete(run);
    else pump();
    return {
      id: spec.id,
      unitSize: plan.pairBlock,
      result,
      cancel: () => {
        if (!run.outcome) {
          flush(run);
          finish(run, { status: "cancelled" });
        }
      },
      snapshot: () => progress.snapshot(),
    };
  }

  for (let i = 0; i < size; i++) slots.push(spawn(i, 0));
  armWake();

  return {
    submit,
    stats: () => ({
      size,
      alive: slots.filter((s) => s.alive).length,
      busy: slots.filter((s) => s.flights.length > 0).length,
      jobs: runs.length,
      ...stats,
    }),
    async close() {
      if (closed) return;
      const stored = runs.map((r) => r.persisted);
      for (const run of [...runs]) fail(run, "pool closed");
      await Promise.all([...stored, ...runs.map((r) => r.persisted)]);
      closed = true;
      // Release the pending waitAsync so nothing refers to the control words any more.
      Atomics.add(control, CONTROL_WAKE, 1);
      Atomics.notify(control, CONTROL_WAKE);
      for (const s of slots) {
        for (const f of s.flights) {
          f.run.inFlight--;
          settleIfIdle(f.run);
        }
        s.flights = [];
        s.worker.terminate();
      }
    },
  };
}
