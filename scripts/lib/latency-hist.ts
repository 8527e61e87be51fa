// Latency histogram for benchmarks: log buckets 4% wide from 1 us, mergeable across processes as
// plain arrays (bench-ws.ts and bench-live.ts join their children's timings with it).
const H_BASE = 0.001;
const H_LOG = Math.log(1.04);
const H_N = 520;

export interface HistData {
  counts: number[];
  n: number;
  sum: number;
  max: number;
  min: number;
}

export class LatencyHist {
  counts = new Array<number>(H_N).fill(0);
  n = 0;
  sum = 0;
  max = -Infinity;
  min = Infinity;

  /** Negative values (a clock read a hair early) count in the first bucket; min keeps them as they are. */
  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    const i = v <= H_BASE ? 0 : Math.min(H_N - 1, Math.ceil(Math.log(v / H_BASE) / H_LOG));
    this.counts[i]++;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    if (ms < this.min) this.min = ms;
  }

  merge(o: HistData): void {
    for (let i = 0; i < H_N; i++) this.counts[i] += o.counts[i];
    this.n += o.n;
    this.sum += o.sum;
    this.max = Math.max(this.max, o.max);
    this.min = Math.min(this.min, o.min);
  }

  data(): HistData {
    return { counts: this.counts, n: this.n, sum: this.sum, max: this.max, min: this.min };
  }

  /** Upper edge of the bucket holding quantile q (at most 4% high), capped by the exact max. */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (let i = 0; i < H_N; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(H_BASE * Math.exp(i * H_LOG), this.max);
    }
    return this.max;
  }
}
