// GET /metrics: the figures of `metrics_update` in the Prometheus text exposition format (0.0.4).
// Pure: a plain RealtimeFigures in, text out. The per-second rates of `metrics_update` are left to
// PromQL (`rate()` over the counters); histograms are written cumulative, as the format requires.
import type { BucketCounts } from "./histogram";
import type { RealtimeFigures } from "./metrics";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
type Kind = "counter" | "gauge" | "histogram";

/** Backslash, double quote and line feed are the three characters a label value must escape. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/** Go's ParseFloat reads what String() writes, plus the three specials spelled its way. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Scaled bounds, rounded so that 0.5 ms reads `0.0005` and not `0.0005000000000000001`. */
const scaled = (v: number, scale: number) => Number((v * scale).toPrecision(12));

class Exposition {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  family(name: string, kind: Kind, help: string): this {
    // A family twice would be an invalid exposition; a bug here must not reach a scraper.
    if (this.seen.has(name)) throw new Error(`metric family ${name} written twice`);
    this.seen.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${kind}`);
    return this;
  }

  sample(name: string, value: number, labels?: Labels): this {
    const pairs = labels ? Object.entries(labels) : [];
    const l = pairs.length ? `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}` : "";
    this.lines.push(`${name}${l} ${formatValue(value)}`);
    return this;
  }

  one(name: string, kind: "counter" | "gauge", help: string, value: number): this {
    return this.family(name, kind, help).sample(name, value);
  }

  /** One labelled sample per entry; the family is written even when empty, so it is always documented. */
  each(name: string, kind: "counter" | "gauge", help: string, label: string, values: Record<string, number>): this {
    this.family(name, kind, help);
    for (const [k, v] of Object.entries(values)) this.sample(name, v, { [label]: k });
    return this;
  }

  histogram(name: string, help: string, h: BucketCounts, scale = 1): this {
    this.family(name, "histogram", help);
    let cumulative = 0;
    h.bounds.forEach((bound, i) => {
      cumulative += h.counts[i];
      this.sample(`${name}_bucket`, cumulative, { le: formatValue(scaled(bound, scale)) });
    });
    this.sample(`${name}_bucket`, h.count, { le: "+Inf" });
    this.sample(`${name}_sum`, scaled(h.sum, scale));
    this.sample(`${name}_count`, h.count);
    return this;
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

/** What the pool and scheduler report (lifecycle.ts `workers()`), named and typed for Prometheus. */
const WORKER_FIELDS: Record<string, { kind: "counter" | "gauge"; name: string; help: string }> = {
  size: { kind: "gauge", name: "gridcast_workers_size", help: "Worker threads in the compute pool." },
  alive: { kind: "gauge", name: "gridcast_workers_alive", help: "Worker threads up, or parked while idle." },
  parked: { kind: "gauge", name: "gridcast_workers_parked", help: "Worker threads stopped after --compute-idle-ms without a job; the next job starts them." },
  busy: { kind: "gauge", name: "gridcast_workers_busy", help: "Worker threads holding units." },
  utilisation: { kind: "gauge", name: "gridcast_workers_utilisation", help: "Busy workers over pool size (0 to 1)." },
  healthy: { kind: "gauge", name: "gridcast_workers_healthy", help: "1 when every worker thread is alive." },
  restarts: { kind: "counter", name: "gridcast_workers_restarts_total", help: "Worker threads replaced after a crash." },
  running: { kind: "gauge", name: "gridcast_scheduler_running_jobs", help: "Jobs the scheduler is running." },
  queued: { kind: "gauge", name: "gridcast_scheduler_queued_jobs", help: "Jobs waiting in the scheduler's queue." },
};

function numeric(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return null;
}

/** The whole exposition for one reading. */
export function formatPrometheus(f: RealtimeFigures): string {
  const s = f.hub;
  const out = new Exposition()
    .one("gridcast_ws_connections", "gauge", "Open WebSocket connections (the registry's count).", f.connections)
    .each("gridcast_ws_connections_by_endpoint", "gauge", "Open WebSocket connections by route.", "endpoint", f.connectionsByEndpoint)
    .each("gridcast_ws_connections_by_role", "gauge", "Open WebSocket connections by access role.", "role", f.connectionsByRole)
    .one("gridcast_ws_messages_total", "counter", "Messages handed to Bun's publish: one per wire topic per flush (metrics_update messages_total).", s.messages)
    .one("gridcast_ws_bytes_total", "counter", "Bytes of those messages, counted once per publish (metrics_update bytes_total).", s.bytes)
    .one("gridcast_ws_deliveries_total", "counter", "Messages times subscribers at publish time: what Bun fanned out.", s.deliveries)
    .one("gridcast_ws_drops_total", "counter", "Messages Bun or the binding dropped for at least one backed-up subscriber.", s.drops)
    .one("gridcast_ws_backpressured_total", "counter", "Publishes that left at least one subscriber under backpressure.", s.backpressured)
    .one("gridcast_ws_renders_total", "counter", "Topic states serialised (once per topic per format per tick, plus snapshots).", s.renders)
    .one("gridcast_ws_errors_total", "counter", "Publish, render or listener failures.", s.errors)
    .one("gridcast_ws_topics", "gauge", "Topics with a state in the hub.", s.topics)
    .one("gridcast_ws_pending_topics", "gauge", "Topics waiting for their tick.", s.pending)
    // By kind, not by topic: a label per job would be a new series for every job, for ever.
    .each("gridcast_ws_topic_messages_total", "counter",
      "Messages published per kind of topic (job, update, metrics, live, signals, other); they add up to gridcast_ws_messages_total.", "kind", f.messagesByKind)
    .histogram("gridcast_ws_publish_latency_seconds", "Time a state waited in the hub between set and publish (coalescing).",
      s.histograms.publishLatencyMs, 1 / 1000)
    .histogram("gridcast_ws_publish_data_age_seconds", "Age of the newest data a publish carried, from the worker's count to the publish.",
      s.histograms.dataAgeMs, 1 / 1000)
    .histogram("gridcast_ws_publish_fanout", "Subscribers reached by one publish.", s.histograms.fanout)
    .histogram("gridcast_ws_message_size_bytes", "Bytes of one published message.", s.histograms.messageBytes)
    .one("gridcast_ws_delayed_waiting", "gauge", "Messages waiting for the delayed tier (starter, live.md Tiers).", s.delayed.waiting)
    .histogram("gridcast_ws_delayed_lateness_seconds", "How long after its due time a delayed tier's copy went out.", s.histograms.delayedLatenessMs, 1 / 1000)
    // History and recovery (protocol.md): what is held for reconnecting clients, and what that did.
    .one("gridcast_ws_history_topics", "gauge", "Event topics holding recent messages for recovery.", s.history.topics)
    .one("gridcast_ws_history_messages", "gauge", "Messages held for recovery, all topics together.", s.history.messages)
    .one("gridcast_ws_history_bytes", "gauge", "Bytes of the messages held for recovery (as sent), all topics together; bounded by the history byte limit.", s.history.bytes)
    .one("gridcast_ws_recoveries_total", "counter", "Subscribes with since: recoveries asked for.", s.history.recoveries)
    .one("gridcast_ws_recovered_total", "counter", "Recoveries answered recovered: true (every missed message replayed, or a state topic's latest state).", s.history.recovered)
    .one("gridcast_ws_replayed_messages_total", "counter", "Messages replayed to recovering subscribers.", s.history.replayed)
    .one("gridcast_ws_acking_subscriptions", "gauge", "Subscriptions whose client has sent at least one ack.", f.lag.acking)
    .one("gridcast_ws_lagging_subscriptions", "gauge", "Acking subscriptions whose last ack is behind the topic's latest seq.", f.lag.behind)
    .one("gridcast_ws_max_lag_messages", "gauge", "The largest lag (latest seq minus acknowledged seq) of any acking subscription.", f.lag.maxLag)
    .each("gridcast_jobs", "gauge", "Jobs this process knows, by state.", "state", f.jobs);

  // Written even before the first reading, so the family is always documented; no sample until then.
  out.family("gridcast_event_loop_lag_p99_seconds", "gauge",
    "Event-loop lag p99: how late the loop ran a timer, over the last one to two windows (window in gridcast_event_loop_lag_window_seconds).");
  if (f.eventLoop) out.sample("gridcast_event_loop_lag_p99_seconds", scaled(f.eventLoop.p99Ms, 1 / 1000));
  out.family("gridcast_event_loop_lag_max_seconds", "gauge", "Event-loop lag, the largest seen over the same windows.");
  if (f.eventLoop) out.sample("gridcast_event_loop_lag_max_seconds", scaled(f.eventLoop.maxMs, 1 / 1000));
  out.family("gridcast_event_loop_lag_window_seconds", "gauge", "The window of the event-loop lag figures.");
  if (f.eventLoop) out.sample("gridcast_event_loop_lag_window_seconds", scaled(f.eventLoop.windowMs, 1 / 1000));

  const unknown: Record<string, number> = {};
  for (const [key, value] of Object.entries(f.workers)) {
    const v = numeric(value);
    if (v === null) continue;
    const known = WORKER_FIELDS[key];
    if (known) out.one(known.name, known.kind, known.help, v);
    else unknown[key] = v;
  }
  out.each("gridcast_workers_other", "gauge", "Other numeric worker figures from collect(), by field.", "field", unknown);

  const extra: Record<string, number> = {};
  for (const [key, value] of Object.entries(f.extra)) {
    const v = numeric(value);
    if (v !== null) extra[key] = v;
  }
  out.each("gridcast_collected", "gauge", "Other numeric figures from collect(), by key.", "key", extra);

  return out
    .one("process_resident_memory_bytes", "gauge",
      "Resident set size: all of the process in RAM (JavaScript heap, external memory, code, stacks, PGlite); at least heap total.", f.memory.rss_bytes)
    .one("gridcast_memory_heap_used_bytes", "gauge",
      "Live JavaScript objects in the garbage-collected heap, small and large, without external memory; at most heap total.", f.memory.heap_used_bytes)
    .one("gridcast_memory_heap_total_bytes", "gauge",
      "The garbage-collected heap: the blocks reserved for small objects, or the live objects when large objects exceed those.", f.memory.heap_total_bytes)
    .one("gridcast_memory_external_bytes", "gauge",
      "Memory outside the heap held by JavaScript objects (ArrayBuffer and Buffer contents); in RSS only once touched.", f.memory.external_bytes)
    .text();
}
