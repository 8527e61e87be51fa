// A job's progress counters in a SharedArrayBuffer: workers count with Atomics, the main thread
// reads them into a plain snapshot. Also the pool-wide wake word workers notify. Counts only: a
// job's state (queued, running, ...) belongs to the scheduler (src/jobs/states.ts), not here.
import { formatCombo } from "./grid.ts";

/** What the pool reports of a job while it runs: counts, never a state. */
export interface ProgressCounts {
  current: number;
  total: number;
  current_combo: string;
}

// Layout: two BigInt64 slots (current can pass 2^31: 1M pairs x 10k games), four Int32 words
// (word 4 spare, then cancel and last pair), then a BigInt64 slot for when a worker last counted
// (unix microseconds).
const CURRENT = 0;
const TOTAL = 1;
const W_CANCEL = 5; // Int32 index: byte 20
const W_LAST_PAIR = 6;
const COUNTED_AT = 4; // BigInt64 index: byte 32
export const PROGRESS_BYTES = 40;

/** The views a worker needs; built once per job from the posted buffer. */
export interface ProgressViews {
  counts: BigInt64Array;
  words: Int32Array;
}

export function progressViews(buffer: SharedArrayBuffer): ProgressViews {
  return { counts: new BigInt64Array(buffer, 0, 5), words: new Int32Array(buffer, 0, 8) };
}

/**
 * Counts finished pair-games. With `at` (a worker's count, in unix ms: performance.timeOrigin +
 * performance.now(), comparable across threads), also records when: the newest such
 * time, kept as a maximum since workers race. The time is stored after the count, so whoever
 * reads the time first and the count second gets a count that includes the unit counted then:
 * the age it derives is never too young.
 */
export function addProgress(v: ProgressViews, units: number, at?: number): void {
  Atomics.add(v.counts, CURRENT, BigInt(units));
  if (at === undefined) return;
  const us = BigInt(Math.round(at * 1000));
  for (let seen = Atomics.load(v.counts, COUNTED_AT); seen < us;) {
    const was = Atomics.compareExchange(v.counts, COUNTED_AT, seen, us);
    if (was === seen) break;
    seen = was;
  }
}

/** Checked by workers between games: a plain load, cheap enough to do often. */
export function isCancelled(v: ProgressViews): boolean {
  return Atomics.load(v.words, W_CANCEL) !== 0;
}

/** The pool's control words: [0] the wake word, [1 + slot] the token of the unit a worker is
 *  running (0 when none), so the pool knows which unit a dying worker was on. */
export const CONTROL_WAKE = 0;
export const controlSlot = (slot: number) => 1 + slot;

/** Wake the main thread: bump the pool's wake word so a waitAsync armed on the old value fires. */
export function wakeMain(wake: Int32Array): void {
  Atomics.add(wake, 0, 1);
  Atomics.notify(wake, 0);
}

/** Main-thread side of one job's progress block. */
export class ProgressBlock {
  readonly buffer: SharedArrayBuffer;
  private readonly v: ProgressViews;

  constructor(total: number, private readonly entries: Float64Array, private readonly exits: Float64Array) {
    this.buffer = new SharedArrayBuffer(PROGRESS_BYTES);
    this.v = progressViews(this.buffer);
    Atomics.store(this.v.counts, TOTAL, BigInt(total));
    Atomics.store(this.v.words, W_LAST_PAIR, -1);
  }

  get current(): number {
    return Number(Atomics.load(this.v.counts, CURRENT));
  }
  get total(): number {
    return Number(Atomics.load(this.v.counts, TOTAL));
  }
  get cancelled(): boolean {
    return isCancelled(this.v);
  }
  /** Unix ms of a worker's latest count (undefined before the first). Read it before the snapshot. */
  get countedAt(): number | undefined {
    const us = Atomics.load(this.v.counts, COUNTED_AT);
    return us === 0n ? undefined : Number(us) / 1000;
  }

  add(units: number): void {
    addProgress(this.v, units);
  }
  /** Raise the flag workers check between games; stays raised for the life of the job. */
  requestStop(): void {
    Atomics.store(this.v.words, W_CANCEL, 1);
  }
  /** A pair just finished (all its games done). Kept as the furthest such pair in grid order:
   *  pair blocks can finish a little out of order on several workers, and a combo that steps
   *  back reads as a glitch; it also makes a complete job name the grid's last pair. */
  setLastPair(p: number): void {
    if (p > Atomics.load(this.v.words, W_LAST_PAIR)) Atomics.store(this.v.words, W_LAST_PAIR, p);
  }

  snapshot(): ProgressCounts {
    const p = Atomics.load(this.v.words, W_LAST_PAIR);
    return {
      current: this.current,
      total: this.total,
      current_combo: p < 0 ? "" : formatCombo(this.entries[p], this.exits[p]),
    };
  }
}
