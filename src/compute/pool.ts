// A pool of long-lived compute Workers shared by concurrent jobs: work-fair unit hand-out,
// Atomics wake-ups for progress, cancel through a shared flag, crash isolation, batched results.
import type { Logger } from "../log/logger.ts";
import { silentLogger } from "../log/logger.ts";
import { workerUrl } from "../workers.ts";
import { CONTROL_WAKE, controlSlot, type ProgressCounts } from "./progress.ts";
import { JobRun, type ComputeJob, type JobEvents, type JobOutcome } from "./run.ts";
// Types only: the worker module is loaded as a Worker, never into the main thread.
import type { FromWorker, ToWorker } from "./worker.ts";
import type { UnitPartial } from "./units.ts";

export { DEFAULT_UNIT_SIZE, defaultUnitSize } from "./run.ts";
export type { ComputeJob, GridResult, JobEvents, JobOutcome, SimulationResult } from "./run.ts";

// Two units per worker: the next one is already queued when a result is posted back.
const MAX_IN_FLIGHT = 2;
// The main thread's progress wakes are at least this far apart (the workers' own pacing is per
// worker, so six of them would wake it up to 600 times a second).
const WAKE_GAP_MS = 20;

export interface PoolOptions {
  size: number;
  /** Default: src/workers.ts's compute entry, which also resolves inside the compiled binary. */
  workerUrl?: URL | string;
  logger?: Pick<Logger, "info" | "warn" | "error">;
  /** onUnits batches: at most this many units, or this long after the first unit of a batch. */
  batchUnits?: number;
  batchMs?: number;
  /**
   * Once no job has run for this long the workers are stopped (each holds its own JavaScript heap,
   * compiled kernel and store views) and the next job starts them again; undefined: never.
   */
  idleMs?: number;
  /** Called once the pool has been idle idleMs, its workers stopped (the daemon then drops its kept store and trims). */
  onIdle?: () => void;
}

export interface JobHandle {
  id: string;
  /** Settles once no worker is on the job any more; never rejects. */
  result: Promise<JobOutcome>;
  cancel(): void;
  /** Ends the job as an error (its caller could not keep its results); a no-op once it has ended. */
  fail(message: string): void;
  snapshot(): ProgressCounts;
  /** A `claimed` job: units this node may compute now. */
  grant(units: readonly number[]): void;
  /** A `claimed` job: partials stored by other nodes, folded in; the last one completes the job. */
  absorb(partials: readonly UnitPartial[]): void;
  /** Units granted but not on a worker yet, and units on workers. */
  outstanding(): { waiting: number; inFlight: number };
  /** The job's units, and whether one is in (computed here, resumed or absorbed). */
  readonly units: number;
  has(unit: number): boolean;
}

export interface PoolStats {
  size: number;
  /** Workers up or parked (a dead one counts again once its replacement is spawned). */
  alive: number;
  /** Of those, stopped while idle (idleMs or park()), to be started by the next job. */
  parked: number;
  busy: number;
  jobs: number;
  unitsDone: number;
  restarts: number;
  wakeups: number;
  /** Hand-out paused by pause() (the store cannot take more finished units). */
  paused: boolean;
}

export interface Pool {
  /** Runs a job; `events` hears its progress and finished units. Never throws for a bad job: it fails it. */
  submit(job: ComputeJob, events?: JobEvents): JobHandle;
  stats(): PoolStats;
  /**
   * Stops handing out units (those on workers finish and are delivered as usual) until resume():
   * what the scheduler does while finished units pile up with the store away.
   */
  pause(): void;
  resume(): void;
  /** Stops every worker while no job runs (the next job starts them again); returns how many. */
  park(): number;
  /** Flushes pending onUnits batches, settles unfinished jobs as errors, terminates workers. */
  close(): Promise<void>;
}

interface Flight { token: number; run: JobRun; unit: number }
interface Slot {
  index: number;
  worker: Worker;
  alive: boolean; // false from its death (or its parking) until its successor takes its place in `slots`
  parked: boolean; // no worker behind it (`worker` is a stopped one) until a unit is dispatched to it
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
  const control = new Int32Array(new SharedArrayBuffer(4 * (1 + size)));
  const runs: JobRun[] = [];
  const slots: Slot[] = [];
  let token = 0;
  let closed = false;
  let paused = false;
  const stats = { unitsDone: 0, restarts: 0, wakeups: 0 };
  const runDeps = {
    batchUnits: options.batchUnits ?? 64,
    batchMs: options.batchMs ?? 250,
    onStoreError(run: JobRun, err: unknown) {
      log.error("storing unit results failed", { job: run.spec.id, err });
      fail(run, `storing results failed: ${err instanceof Error ? err.message : String(err)}`);
    },
  };

  const post = (slot: Slot, msg: ToWorker) => slot.worker.postMessage(msg);

  function spawn(index: number, deaths: number): Slot {
    const worker = new Worker(url);
    const slot: Slot = { index, worker, alive: true, parked: false, ready: false, flights: [], stores: new Set(), jobs: new Set(), deaths };
    keepAlive(worker, false); // idle workers do not keep the process alive; ref'd while they hold units
    const die = (why: string) => {
      if (!slot.alive || closed) return;
      slot.alive = false;
      onDeath(slot, why);
    };
    worker.addEventListener("message", (e: MessageEvent<FromWorker>) => {
      if (e.data.type === "ready") slot.ready = true;
      else onMessage(slot, e.data);
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
        // A unit before the running one finished (and counted) but its result died with it.
        if (!passed) f.run.progress.add(-f.run.plan.weight(f.run.plan.unit(f.unit)));
        f.run.requeue(f.unit);
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

  function onMessage(slot: Slot, msg: Exclude<FromWorker, { type: "ready" }>): void {
    const i = slot.flights.findIndex((f) => f.token === msg.token);
    if (i < 0) return; // already written off (its job ended or its worker was declared dead)
    const { run, unit } = slot.flights[i];
    slot.flights.splice(i, 1);
    run.inFlight--;
    if (slot.flights.length === 0) keepAlive(slot.worker, false);
    if (msg.type === "done") {
      const got = run.accept(msg.partial);
      if (got !== "ignored") stats.unitsDone++;
      if (got === "last") void complete(run);
    } else if (msg.type === "failed") fail(run, `unit ${unit} failed: ${msg.message}`);
    else run.requeue(unit); // "stopped" without a cancel (a no-op once the job has ended)
    settleIfIdle(run);
    pump();
  }

  async function complete(run: JobRun): Promise<void> {
    run.flush();
    await run.storedAll();
    if (run.outcome) return; // storing failed (or a cancel came) meanwhile
    finish(run, { status: "complete", result: run.finalResult() });
  }

  /** Record the outcome; the job settles once none of its units is on a worker. */
  function finish(run: JobRun, outcome: JobOutcome): void {
    if (!run.end(outcome)) return;
    publish(run);
    settleIfIdle(run);
  }

  function fail(run: JobRun, message: string): void {
    run.flush();
    finish(run, { status: "error", message });
  }

  function settleIfIdle(run: JobRun): void {
    if (!run.outcome || run.inFlight > 0 || run.settled) return;
    runs.splice(runs.indexOf(run), 1);
    for (const s of slots) if (s.jobs.delete(run.spec.id)) post(s, { type: "job-end", jobId: run.spec.id });
    run.settle();
    armIdle();
  }

  function publish(run: JobRun): void {
    const countedAt = run.progress.countedAt; // before the count: see addProgress
    const snap = run.progress.snapshot();
    run.lastPublished = snap.current;
    try {
      run.events.onProgress?.(snap, countedAt);
    } catch (err) {
      // A failing listener must not stop the wake loop or the job.
      log.error("progress listener failed", { job: run.spec.id, err });
    }
  }

  /** Fair sharing by work, not by unit count: each free place on a worker goes to the job with
   *  work left that has been handed the fewest pair-ticks (the oldest on a tie), so a job cut
   *  into big units does not crowd out one cut into small units. */
  function pump(): void {
    if (closed || paused) return;
    for (let depth = 0; depth < MAX_IN_FLIGHT; depth++) {
      for (let i = 0; i < slots.length; i++) {
        if (!slots[i].alive || slots[i].flights.length > depth) continue;
        let picked: JobRun | null = null;
        for (const run of runs) if (run.hasWork() && (!picked || run.served < picked.served)) picked = run;
        if (!picked) return;
        // A parked slot gets its worker back now; messages wait in the worker's queue until it has loaded.
        if (slots[i].parked) slots[i] = spawn(i, 0);
        dispatch(slots[i], picked, picked.nextUnit());
      }
    }
  }

  /** Stops the workers of every live slot; only while no job runs, so none holds a unit. */
  function park(): number {
    if (closed || runs.length > 0) return 0;
    let stopped = 0;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      if (!slot.alive || slot.parked) continue;
      slot.alive = false; // its close event is a parking, not a death: nothing replaces it
      slot.worker.terminate();
      slots[i] = { ...slot, alive: true, parked: true, ready: false, flights: [], stores: new Set(), jobs: new Set(), deaths: 0 };
      stopped++;
    }
    return stopped;
  }

  // Parks the workers once the pool has had no job for idleMs; a new job cancels the wait.
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  function armIdle(): void {
    if (options.idleMs === undefined || closed || runs.length > 0) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      if (closed || runs.length > 0) return;
      park();
      options.onIdle?.(); // even with every worker parked already: a job that needed none kept a store
    }, options.idleMs);
    (idleTimer as { unref?: () => void }).unref?.(); // a pending park never keeps the process alive
  }

  function dispatch(slot: Slot, run: JobRun, unit: number): void {
    const { spec } = run;
    const key = spec.store.shared().key;
    if (!slot.stores.has(key)) {
      // Stores no running job uses are dropped from a worker only when it needs room for another.
      const inUse = new Set(runs.map((r) => r.spec.store.shared().key));
      for (const k of slot.stores) if (!inUse.has(k)) (slot.stores.delete(k), post(slot, { type: "drop-store", key: k }));
      post(slot, { type: "store", store: spec.store.shared() });
      slot.stores.add(key);
    }
    if (!slot.jobs.has(spec.id)) {
      post(slot, { type: "job", jobId: spec.id, kind: spec.kind, storeKey: key, entries: run.entries, exits: run.exits,
        fee: spec.fee, progress: run.progress.buffer });
      slot.jobs.add(spec.id);
    }
    if (!run.started) {
      run.started = true;
      publish(run);
    }
    const t = ++token;
    if (slot.flights.length === 0) keepAlive(slot.worker, true);
    slot.flights.push({ token: t, run, unit });
    run.inFlight++;
    run.served += run.work(unit);
    post(slot, { type: "unit", jobId: spec.id, token: t, unit: run.plan.unit(unit) });
    if (spec.claimed) {
      try {
        run.events.onHandout?.();
      } catch (err) {
        log.error("hand-out listener failed", { job: spec.id, err });
      }
    }
  }

  // Woken by workers through the wake word (Atomics.waitAsync), never by a polling timer. Only
  // while a run has a progress listener (a helper's runs on another node's job have none), and
  // at most once per WAKE_GAP_MS: sockets hear progress once per hub tick, so waking oftener tells
  // nobody anything sooner, and each wake (a waitAsync and its promise) costs the main thread.
  // A pending waitAsync or pause does not keep the process alive.
  let waking = false; // a waitAsync, or the pause before the next one, is pending
  function armWake(): void {
    if (closed || waking || !runs.some((r) => r.events.onProgress && !r.outcome)) return;
    waking = true;
    const seen = Atomics.load(control, CONTROL_WAKE);
    const w = Atomics.waitAsync(control, CONTROL_WAKE, seen);
    if (w.async) w.value.then(onWake);
    else setImmediate(onWake); // bumped between the load and the wait
  }
  function onWake(): void {
    if (closed) return;
    stats.wakeups++;
    for (const run of runs) if (!run.outcome && run.progress.current !== run.lastPublished) publish(run);
    const pause = setTimeout(() => {
      waking = false;
      armWake();
    }, WAKE_GAP_MS);
    (pause as { unref?: () => void }).unref?.();
  }

  function submit(spec: ComputeJob, events: JobEvents = {}): JobHandle {
    if (closed) throw new Error("pool is closed");
    if (runs.some((r) => r.spec.id === spec.id)) throw new Error(`job ${spec.id} is already running`);
    // A newcomer starts level with the least-served running job, not at 0: it gets its fair
    // share from now on instead of the whole pool until it has "caught up".
    const served = runs.filter((r) => r.hasWork()).reduce((m, r) => Math.min(m, r.served), Infinity);
    const run = new JobRun(spec, events, Number.isFinite(served) ? served : 0, runDeps);
    if (run.mismatched.length > 0) {
      log.warn("stored units do not match this job's plan; computing them again", { job: spec.id, units: run.mismatched.length });
    }
    runs.push(run);
    armWake();
    clearTimeout(idleTimer);
    idleTimer = undefined;
    publish(run);
    if (run.fold.complete) void complete(run);
    else pump();
    return {
      id: spec.id,
      result: run.result,
      cancel: () => {
        if (run.outcome) return;
        run.flush();
        finish(run, { status: "cancelled" });
      },
      fail: (message: string) => {
        if (!run.outcome) fail(run, message);
      },
      snapshot: () => run.progress.snapshot(),
      grant: (units: readonly number[]) => {
        run.grant(units);
        pump();
      },
      absorb: (partials: readonly UnitPartial[]) => {
        let last = false;
        for (const p of partials) last = run.absorb(p) === "last" || last;
        if (partials.length > 0 && !run.outcome) publish(run);
        if (last) void complete(run);
      },
      outstanding: () => ({ waiting: run.waiting(), inFlight: run.inFlight }),
      units: run.plan.units,
      has: (unit: number) => run.has(unit),
    };
  }

  for (let i = 0; i < size; i++) slots.push(spawn(i, 0));
  armIdle();

  return {
    submit,
    stats: () => ({
      size,
      alive: slots.filter((s) => s.alive).length,
      parked: slots.filter((s) => s.alive && s.parked).length,
      busy: slots.filter((s) => s.flights.length > 0).length,
      jobs: runs.length,
      paused,
      ...stats,
    }),
    pause() {
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      pump();
    },
    park,
    async close() {
      if (closed) return;
      const open = [...runs];
      for (const run of open) fail(run, "pool closed");
      await Promise.all(open.map((r) => r.storedAll()));
      closed = true;
      clearTimeout(idleTimer);
      idleTimer = undefined;
      // Release the pending waitAsync so nothing refers to the control words any more.
      Atomics.add(control, CONTROL_WAKE, 1);
      Atomics.notify(control, CONTROL_WAKE);
      for (const s of slots) {
        for (const f of s.flights) {
          f.run.inFlight--;
          settleIfIdle(f.run);
        }
        s.flights = [];
        if (!s.parked) s.worker.terminate();
      }
    },
  };
}
