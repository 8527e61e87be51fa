// Fixed-bucket histograms: constant memory, O(buckets) to read, O(log buckets) to record. The raw
// counts feed GET /metrics; the latency snapshot with quantiles feeds `metrics_update`.

/** Upper bounds in milliseconds; the last bucket takes everything above. */
export const LATENCY_BOUNDS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000] as const;
/** Subscribers reached by one publish. */
export const FANOUT_BOUNDS = [1, 10, 100, 1000, 10_000, 100_000] as const;
/** Bytes of one published message. */
export const SIZE_BOUNDS_BYTES = [64, 128, 256, 512, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576] as const;

/** A plain copy of a histogram: `counts[i]` holds values <= `bounds[i]` (not cumulative); the last count is the overflow. */
export interface BucketCounts {
  bounds: readonly number[];
  counts: number[];
  count: number;
  sum: number;
  max: number;
}

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

export class Histogram {
  protected readonly counts: number[];
  protected count = 0;
  protected sum = 0;
  protected max = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  record(value: number): void {
    const v = value > 0 ? value : 0;
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v <= this.bounds[mid]) hi = mid;
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
      if (seen >= rank) return i < this.bounds.length ? Math.min(this.bounds[i], this.max) : this.max;
    }
    return this.max;
  }

  raw(): BucketCounts {
    return { bounds: this.bounds, counts: [...this.counts], count: this.count, sum: this.sum, max: this.max };
  }
}

export class LatencyHistogram extends Histogram {
  constructor() {
    super(LATENCY_BOUNDS_MS);
  }

  snapshot(): HistogramSnapshot {
    const buckets: Record<string, number> = {};
    this.bounds.forEach((b, i) => (buckets[`<=${b}`] = this.counts[i]));
    buckets[`>${this.bounds[this.bounds.length - 1]}`] = this.counts[this.bounds.length];
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
