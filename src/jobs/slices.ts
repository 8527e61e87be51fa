// Work on the main thread that grows with a job's size (storing its results, reading them back
// for a response) runs in slices: each one sized to take about `sliceMs`, with the event loop let
// in between, so /health and every other request are still answered while it runs. PGlite
// executes queries on this thread, so a query's own time is part of a slice.

export interface SliceOptions {
  /** Items in the first slice, before anything is measured. */
  first: number;
  min: number;
  max: number;
  /** Time one slice should take; it grows or shrinks toward this. */
  sliceMs?: number;
}

const SLICE_MS = 20;

/** Lets timers and I/O run (a macrotask): awaiting a resolved promise would not, since a PGlite
 *  query resolves in microtasks only. */
export const letEventLoopIn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class Slices {
  private current: number;
  private readonly target: number;

  constructor(private readonly options: SliceOptions) {
    this.current = options.first;
    this.target = options.sliceMs ?? SLICE_MS;
  }

  /** Items in the next slice. */
  get size(): number {
    return this.current;
  }

  /** Records that a slice of `items` took `ms`, sizes the next one toward the target, and lets
   *  the event loop in before it. */
  async after(items: number, ms: number): Promise<void> {
    const { min, max } = this.options;
    if (ms > this.target) this.current = Math.max(min, Math.floor((this.current * this.target) / ms));
    else if (items >= this.current && ms < this.target / 2) this.current = Math.min(max, this.current * 2);
    await letEventLoopIn();
  }

  /** [from, to) ranges covering 0..total, one slice each; the time between yields is the slice. */
  async *ranges(total: number): AsyncGenerator<[number, number]> {
    for (let from = 0; from < total;) {
      const to = Math.min(total, from + this.current);
      const started = performance.now();
      yield [from, to];
      await this.after(to - from, performance.now() - started);
      from = to;
    }
  }
}
