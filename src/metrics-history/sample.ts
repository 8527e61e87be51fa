// One row of the performance history from two readings of the realtime figures: rates and p99s
// over the interval between them (the hub's histograms count since start, so the interval's p99
// comes from the difference of their buckets), plus the store's round trip and CPU.
import type { RealtimeFigures } from "../realtime/metrics";
import type { BucketCounts } from "../realtime/histogram";
import type { ActiveAlert } from "../alerts/thresholds";

export interface HistoryRow {
  /** Unix ms. */
  at: number;
  intervalMs: number;
  connections: number;
  messagesPerSecond: number;
  bytesPerSecond: number;
  /** Messages dropped for backed-up subscribers during the interval. */
  drops: number;
  dropsPerSecond: number;
  /** Null: nothing was published (or carried a worker's time) during the interval. */
  publishP99Ms: number | null;
  dataAgeP99Ms: number | null;
  eventLoopLagP99Ms: number | null;
  /** Null: no round trip measured yet, or the last one failed. */
  storeLatencyMs: number | null;
  jobs: Record<string, number>;
  busyWorkers: number;
  rssBytes: number;
  /** Of one core: 100 is one core busy the whole interval. */
  cpuPercent: number;
  /** The alerts active at `at`. */
  alerts: ActiveAlert[];
}

/** Upper bound of the bucket holding quantile q of what was recorded between two readings; null if nothing was. */
export function intervalQuantile(before: BucketCounts | undefined, now: BucketCounts, q: number): number | null {
  const counts = now.counts.map((c, i) => c - (before?.counts[i] ?? 0));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= rank) return i < now.bounds.length ? Math.min(now.bounds[i], now.max) : now.max;
  }
  return now.max;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export interface SampleInputs {
  now: RealtimeFigures;
  previous: RealtimeFigures | null;
  /** CPU microseconds (user + system) used since the previous reading. */
  cpuMicros: number;
  storeLatencyMs: number | null;
}

export function historyRow(s: SampleInputs): Omit<HistoryRow, "alerts"> {
  const { now, previous } = s;
  const h = now.hub;
  const p = previous?.hub;
  const ms = previous ? Math.max(1, now.at - previous.at) : 0;
  const perSecond = (total: number, before: number | undefined) => (previous && before !== undefined ? round2(((total - before) * 1000) / ms) : 0);
  const drops = p ? Math.max(0, h.drops - p.drops) : 0;
  const busy = now.workers.busy;
  return {
    at: Math.round(now.at),
    intervalMs: Math.round(ms),
    connections: now.connections,
    messagesPerSecond: perSecond(h.messages, p?.messages),
    bytesPerSecond: perSecond(h.bytes, p?.bytes),
    drops,
    dropsPerSecond: perSecond(h.drops, p?.drops),
    publishP99Ms: intervalQuantile(p?.histograms.publishLatencyMs, h.histograms.publishLatencyMs, 0.99),
    dataAgeP99Ms: intervalQuantile(p?.histograms.dataAgeMs, h.histograms.dataAgeMs, 0.99),
    eventLoopLagP99Ms: now.eventLoop?.p99Ms ?? null,
    storeLatencyMs: s.storeLatencyMs,
    jobs: { ...now.jobs },
    busyWorkers: typeof busy === "number" ? busy : 0,
    rssBytes: now.memory.rss_bytes,
    cpuPercent: ms > 0 ? round2((s.cpuMicros / 1000 / ms) * 100) : 0,
  };
}

/** The row as GET /api/metrics/history and the page show it. */
export function historyJson(r: HistoryRow) {
  return {
    at: new Date(r.at).toISOString(), interval_ms: r.intervalMs, connections: r.connections,
    messages_per_second: r.messagesPerSecond, bytes_per_second: r.bytesPerSecond, drops: r.drops, drops_per_second: r.dropsPerSecond,
    publish_p99_ms: r.publishP99Ms, data_age_p99_ms: r.dataAgeP99Ms, event_loop_lag_p99_ms: r.eventLoopLagP99Ms,
    store_latency_ms: r.storeLatencyMs, jobs: r.jobs, busy_workers: r.busyWorkers, rss_bytes: r.rssBytes, cpu_percent: r.cpuPercent,
    alerts: r.alerts,
  };
}
