// A fixed-bucket latency histogram: constant memory, O(buckets) to read, O(log buckets) to record.

/** Upper bounds in milliseconds; the last bucket takes everything above. */
export const LATENCY_BOUNDS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000] as const;

export interface HistogramSnapshot {
  count: number;
  sum_ms: number;
  max_ms: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  /** `{"<=1": n, ..., ">5000": n}`: counts per bucket. */
  buckets: Record<string, number>;
}

export class LatencyHistogram {
  private readonly counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  private count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    let lo = 0;
    let hi: number = LATENCY_BOUNDS_MS.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v <= LATENCY_BOUNDS_MS[mid]) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Upper bound of the bucket holding quantile q: an over-estimate, never an under-estimate. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? Math.min(LATENCY_BOUNDS_MS[i], this.max) : this.max;
    }
    return this.max;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Record<string, number> = {};
    LATENCY_BOUNDS_MS.forEach((b, i) => (buckets[`<=${b}`] = this.counts[i]));
    buckets[`>${LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]}`] = this.counts[LATENCY_BOUNDS_MS.length];
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      count: this.count,
      sum_ms: round(this.sum),
      max_ms: round(this.max),
      p50_ms: round(this.quantile(0.5)),
      p95_ms: round(this.quantile(0.95)),
      p99_ms: round(this.quantile(0.99)),
      buckets,
    };
  }
}
