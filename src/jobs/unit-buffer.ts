// A running job's finished units on their way to the store. The pool hands them over and goes on
// at once; one loop per job writes them in the order they came. While the store is away
// (store_unavailable) the loop waits and tries again, the units stay here, and the scheduler
// pauses the pool when all jobs together hold its bound: nothing is dropped, and the units are
// written as soon as the store is back.
import type { UnitPartial } from "../compute/units";

/** Units written in one statement when catching up after an outage (a unit is ~10-20 KB). */
const MAX_UNITS_PER_WRITE = 256;

export interface UnitBufferDeps {
  /** Stores one batch, in order; retried (by `retry`) while the store is unavailable. */
  write(batch: UnitPartial[]): Promise<void>;
  /** Runs a store call until it succeeds, waiting through store_unavailable; rethrows anything else. */
  retry<T>(call: () => Promise<T>): Promise<T>;
  /** `units` left the buffer: stored, or given up with the job (`error`). */
  released(units: number, bytes: number): void;
  /** A write failed for a reason other than the store being away: the job cannot keep its units. */
  failed(err: unknown): void;
}

export class UnitBuffer {
  private readonly queue: UnitPartial[][] = [];
  private loop: Promise<void> | undefined;
  private error: unknown;
  units = 0;
  bytes = 0;

  constructor(private readonly deps: UnitBufferDeps) {}

  /** Takes a batch (the pool's onUnits); throws the first write error once there was one. */
  add(batch: UnitPartial[]): void {
    if (this.error !== undefined) throw this.error;
    if (batch.length === 0) return;
    this.queue.push(batch);
    this.units += batch.length;
    this.bytes += bytesOf(batch);
    this.loop ??= this.drain();
  }

  /** Resolves once everything handed over so far is stored; rejects with a write's error. */
  async drained(): Promise<void> {
    while (this.loop) await this.loop;
    if (this.error !== undefined) throw this.error;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // Catching up after an outage: several small batches in one statement, still in order.
        let n = 0;
        let take = 0;
        while (take < this.queue.length && (take === 0 || n + this.queue[take]!.length <= MAX_UNITS_PER_WRITE)) n += this.queue[take++]!.length;
        const batches = this.queue.slice(0, take);
        const batch = take === 1 ? batches[0]! : batches.flat();
        await this.deps.retry(() => this.deps.write(batch));
        this.queue.splice(0, take);
        const bytes = bytesOf(batch);
        this.units -= batch.length;
        this.bytes -= bytes;
        this.deps.released(batch.length, bytes);
      }
    } catch (err) {
      this.error = err;
      this.deps.released(this.units, this.bytes);
      this.queue.length = 0;
      this.units = 0;
      this.bytes = 0;
      this.deps.failed(err);
    } finally {
      this.loop = undefined;
    }
  }
}

/** The memory a batch holds: its typed arrays' bytes (what the bench reports as buffered). */
export function bytesOf(batch: readonly UnitPartial[]): number {
  let n = 0;
  for (const p of batch) {
    for (const v of Object.values(p as unknown as Record<string, unknown>)) n += sizeOf(v);
  }
  return n;
}

function sizeOf(v: unknown): number {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (typeof v === "number") return 8;
  if (v && typeof v === "object") {
    let n = 0;
    for (const x of Object.values(v)) n += sizeOf(x);
    return n;
  }
  return 0;
}
