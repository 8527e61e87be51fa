// The compute Worker: caches store views per store, runs units game by game through the kernel,
// counts progress with Atomics and posts each unit's partial sums back. Also the message types.
import { GameKernel } from "./kernel.ts";
import { addProgress, CONTROL_WAKE, controlSlot, isCancelled, progressViews, wakeMain, type ProgressViews } from "./progress.ts";
import { storeViews, type SharedStore, type StoreViews } from "./store.ts";
import type { UnitPartial, UnitSpec } from "./units.ts";

/** What a worker computes: per-pair sums over games (a grid search) or per-game results of one pair. */
export type ComputeKind = "grid" | "simulation";

export type ToWorker =
  | { type: "init"; control: SharedArrayBuffer; slot: number }
  | { type: "store"; store: SharedStore }
  | { type: "drop-store"; key: string }
  | { type: "job"; jobId: string; kind: ComputeKind; storeKey: string; entries: Float64Array; exits: Float64Array;
      fee: number; progress: SharedArrayBuffer }
  | { type: "job-end"; jobId: string }
  | { type: "unit"; jobId: string; token: number; unit: UnitSpec };

export type FromWorker =
  | { type: "ready" }
  | { type: "done"; jobId: string; token: number; partial: UnitPartial }
  | { type: "stopped"; jobId: string; token: number }
  | { type: "failed"; jobId: string; token: number; message: string };

// A wake per game would cost the main thread more than it tells anyone: at most one per 10 ms.
const WAKE_EVERY_MS = 10;
const FLUSH_EVERY_MS = 1;
// Inside a game, pairs are run in chunks of about this many pair-ticks (~3 ms at the scan's
// slowest, trade-heavy rate of ~100M/s), so a cancel is seen in time even on a game with
// hundreds of thousands of ticks. The game is loaded (edges, index) once for all its chunks.
const CHUNK_PAIR_TICKS = 1 << 18;

interface WorkerJob {
  kind: ComputeKind;
  store: StoreViews;
  entries: Float64Array;
  exits: Float64Array;
  fee: number;
  progress: ProgressViews;
}

type Post = (msg: FromWorker, transfer?: Transferable[]) => void;

/** The worker's state and message handling, apart from the global scope so tests could drive it. */
export function createWorkerRuntime(post: Post) {
  const stores = new Map<string, StoreViews>();
  const jobs = new Map<string, WorkerJob>();
  let wake: Int32Array<ArrayBufferLike> = new Int32Array(1);
  let control: Int32Array<ArrayBufferLike> = new Int32Array(2);
  let slot = 0;
  let lastWake = 0;
  let outP = new Float64Array(0);
  let outT = new Float64Array(0);
  let outW = new Float64Array(0);
  const kernel = new GameKernel();

  // Progress is added to the shared counter at most once a millisecond (and at the end of each
  // unit): one atomic per game on a cache line both workers write would cost more than the count.
  let unflushed = 0;
  let lastFlush = 0;
  function flush(job: WorkerJob, now: number): void {
    lastFlush = now;
    if (unflushed === 0) return; // nothing new: no reason to wake anyone
    addProgress(job.progress, unflushed, performance.timeOrigin + now);
    unflushed = 0;
    if (now - lastWake >= WAKE_EVERY_MS) {
      lastWake = now;
      wakeMain(wake);
    }
  }
  function counted(job: WorkerJob, units: number): void {
    unflushed += units;
    const now = performance.now();
    if (now - lastFlush >= FLUSH_EVERY_MS) flush(job, now);
  }

  /** Returns the partial, or null when the job's cancel flag stopped it. */
  function runUnit(job: WorkerJob, u: UnitSpec): UnitPartial | null {
    const { price, fair, offsets, outcomes } = job.store;
    const m = u.pairTo - u.pairFrom;
    const sim = job.kind === "simulation";
    const len = sim ? u.gameTo - u.gameFrom : m;
    const partial: UnitPartial = {
      unit: u.index, pairFrom: u.pairFrom, pairTo: u.pairTo, gameFrom: u.gameFrom, gameTo: u.gameTo,
      pnl: new Float64Array(len), trades: new Float64Array(len), wins: new Float64Array(len),
    };
    if (outP.length < m) {
      outP = new Float64Array(m);
      outT = new Float64Array(m);
      outW = new Float64Array(m);
    }
    for (let g = u.gameFrom; g < u.gameTo; g++) {
      if (isCancelled(job.progress)) return null;
      const start = offsets[g];
      const end = offsets[g + 1];
      kernel.load(price, fair, start, end, m);
      if ((end - start) * m <= CHUNK_PAIR_TICKS) {
        kernel.run(outcomes[g], job.entries, job.exits, u.pairFrom, u.pairTo, job.fee, outP, outT, outW);
      } else {
        const chunk = Math.max(1, Math.floor(CHUNK_PAIR_TICKS / (end - start)));
        for (let a = u.pairFrom; a < u.pairTo; a += chunk) {
          if (a > u.pairFrom && isCancelled(job.progress)) return null;
          const o = a - u.pairFrom;
          kernel.run(outcomes[g], job.entries, job.exits, a, Math.min(a + chunk, u.pairTo), job.fee,
            outP.subarray(o), outT.subarray(o), outW.subarray(o));
        }
      }
      if (sim) {
        const i = g - u.gameFrom;
        partial.pnl[i] = outP[0];
        partial.trades[i] = outT[0];
        partial.wins[i] = outW[0];
      } else {
        // Sum in game order from 0: the fixed order that makes totals independent of the pool.
        const { pnl, trades, wins } = partial;
        for (let i = 0; i < m; i++) {
          pnl[i] += outP[i];
          trades[i] += outT[i];
          wins[i] += outW[i];
        }
      }
      counted(job, m);
    }
    return partial;
  }

  function onUnit(jobId: string, token: number, u: UnitSpec): void {
    const job = jobs.get(jobId);
    if (!job) {
      post({ type: "failed", jobId, token, message: `worker has no job ${jobId}` });
      return;
    }
    Atomics.store(control, controlSlot(slot), token);
    try {
      const partial = runUnit(job, u);
      flush(job, performance.now());
      if (partial) post({ type: "done", jobId, token, partial }, [partial.pnl.buffer, partial.trades.buffer, partial.wins.buffer]);
      else post({ type: "stopped", jobId, token });
    } catch (err) {
      post({ type: "failed", jobId, token, message: err instanceof Error ? err.message : String(err) });
    } finally {
      flush(job, performance.now()); // a stopped or failed unit's games still count for its job
      Atomics.store(control, controlSlot(slot), 0);
    }
  }

  return function handle(msg: ToWorker): void {
    switch (msg.type) {
      case "init":
        control = new Int32Array(msg.control);
        wake = control.subarray(CONTROL_WAKE, CONTROL_WAKE + 1);
        slot = msg.slot;
        return;
      case "store":
        stores.set(msg.store.key, storeViews(msg.store));
        return;
      case "drop-store":
        stores.delete(msg.key);
        return;
      case "job": {
        const store = stores.get(msg.storeKey);
        // Without its store the job cannot run; its first unit reports that as a failure.
        if (!store) return;
        jobs.set(msg.jobId, {
          kind: msg.kind, store, entries: msg.entries, exits: msg.exits, fee: msg.fee,
          progress: progressViews(msg.progress),
        });
        return;
      }
      case "job-end":
        jobs.delete(msg.jobId);
        return;
      case "unit":
        onUnit(msg.jobId, msg.token, msg.unit);
        return;
    }
  };
}

// Only when loaded as a Worker: importing this module for its types must not install a handler.
declare const self: Worker & { postMessage(msg: unknown, transfer?: Transferable[]): void };
if (typeof Bun !== "undefined" && !Bun.isMainThread) {
  const handle = createWorkerRuntime((msg, transfer) => self.postMessage(msg, transfer ?? []));
  self.onmessage = (e: MessageEvent<ToWorker>) => handle(e.data);
  // Tells the pool the module loaded: a worker that dies before this could not start at all.
  self.postMessage({ type: "ready" } satisfies FromWorker);
}
