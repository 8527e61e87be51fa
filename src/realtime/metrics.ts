// The `metrics` topic: a metrics_update every interval while anyone listens, in any format.
// Nothing is computed and no timer runs while nobody subscribes. The same plain figures feed
// GET /metrics (prometheus.ts), so the two never disagree.
import type { Hub, HubStats } from "./hub";
import type { Registry } from "./registry";
import { METRICS_TOPIC, topicKind, type State } from "./topics";
import { quietLogger, systemClock, type Clock, type RealtimeLogger } from "./transport";

/** Event-loop lag in ms (measured by the daemon, src/ops/event-loop-lag.ts: the hub only reports it). */
export interface EventLoopLagFigures {
  p99Ms: number;
  maxMs: number;
  windowMs: number;
}

/** What only the lead knows: jobs by state, worker utilisation, event-loop lag, anything else worth showing. */
export type CollectMetrics = () => {
  jobs?: Record<string, number>; workers?: Record<string, unknown>; eventLoop?: EventLoopLagFigures; [k: string]: unknown;
};

/** Memory of this process, in figures that nest: heap_used <= heap_total <= rss (see processMemory). */
export interface MemoryFigures {
  /** Resident set size: every page of the process in RAM (heap, external, code, stacks, PGlite). */
  rss_bytes: number;
  /** Live JavaScript objects in the garbage-collected heap, small and large, without external memory. */
  heap_used_bytes: number;
  /** The garbage-collected heap: blocks for small objects, or the live objects when large ones exceed those. */
  heap_total_bytes: number;
  /** Memory outside the heap held by JavaScript objects: ArrayBuffer and Buffer contents, mostly. */
  external_bytes: number;
}

/** The label values of gridcast_ws_topic_messages_total: one per kind of topic, never per topic. */
export const TOPIC_LABELS = ["job", "update", "metrics", "live", "signals", "other"] as const;
export type TopicLabel = (typeof TOPIC_LABELS)[number];

export function topicLabel(topic: string): TopicLabel {
  const kind = topicKind(topic);
  return kind === "live_game" ? "live" : kind;
}

/** One subscription behind its topic: the last seq its client acknowledged and the latest sent. */
export interface LaggingSubscription {
  connection: string;
  endpoint: string;
  topic: string;
  /** Role and tier, never the address, agent or token name: the metrics topic is open to viewers (access.md). */
  role: string;
  tier: string;
  acked: number;
  seq: number;
  lag: number;
}

/** Acknowledging subscriptions (protocol.md `ack`): how many, how many behind, the furthest behind. */
export interface LagFigures {
  /** Subscriptions that acknowledged at least once. */
  acking: number;
  /** Of those, the ones whose lag is above 0. */
  behind: number;
  /** The largest lag, 0 when none is behind. */
  maxLag: number;
  /** The furthest behind first, at most `topLagging` of them (a bounded list whatever the number of sockets). */
  top: LaggingSubscription[];
}

/** One plain reading of everything the metrics topic and GET /metrics show. */
export interface RealtimeFigures {
  /** Unix milliseconds. */
  at: number;
  connections: number;
  connectionsByEndpoint: Record<string, number>;
  connectionsByRole: Record<string, number>;
  hub: HubStats;
  /** Messages published per topic, the busiest first (a few topics only: for people, not labels). */
  busiestTopics: Record<string, number>;
  /** Messages published per topic kind since start, every kind present: a bounded label set. */
  messagesByKind: Record<TopicLabel, number>;
  jobs: Record<string, number>;
  /** What collect() said of the workers, with `utilisation` (busy / size) added when it can be. */
  workers: Record<string, unknown>;
  memory: MemoryFigures;
  /** Who falls behind the topics they acknowledge (the lag of GET /api/websocket/status). */
  lag: LagFigures;
  /** Event-loop lag, when collect() measures it. */
  eventLoop: EventLoopLagFigures | null;
  /** Anything else collect() returned. */
  extra: Record<string, unknown>;
}

/**
 * Bun's process.memoryUsage() does not nest: its heapUsed is the collector's size, which adds the
 * external memory (so a few large Buffers put it above RSS, their pages untouched), and its
 * heapTotal counts only the blocks of small objects, not large ones (a big array), so heapUsed >
 * heapTotal. bun:jsc heapStats() has the true capacity but walks every object (300 ms on a large
 * heap): too slow for a metrics tick. So: used without the external part, and a total of at least
 * the live objects.
 */
export function processMemory(): MemoryFigures {
  const m = process.memoryUsage();
  const heapUsed = Math.max(0, m.heapUsed - m.external);
  return { rss_bytes: m.rss, heap_used_bytes: heapUsed, heap_total_bytes: Math.max(m.heapTotal, heapUsed), external_bytes: m.external };
}

/**
 * Messages per topic kind, monotonic although the hub forgets finished topics: the hub's counts
 * per topic are folded in at every reading and whenever a topic finishes, before it can be
 * forgotten (the hub forgets only finished topics, after their last publish).
 */
function kindCounter(hub: Hub) {
  const totals = Object.fromEntries(TOPIC_LABELS.map((k) => [k, 0])) as Record<TopicLabel, number>;
  let seen = new Map<string, number>();
  function fold(): Record<TopicLabel, number> {
    const next = new Map<string, number>();
    for (const [topic, n] of Object.entries(hub.perTopicCounts())) {
      const before = seen.get(topic) ?? 0;
      totals[topicLabel(topic)] += n >= before ? n - before : n; // fewer: forgotten and begun again
      next.set(topic, n);
    }
    seen = next;
    return { ...totals };
  }
  const detach = hub.onPublish((e) => {
    if (e.terminal) fold();
  });
  return { fold, detach };
}

function withUtilisation(workers: Record<string, unknown>): Record<string, unknown> {
  const { busy, size } = workers;
  if (workers.utilisation !== undefined || typeof busy !== "number" || typeof size !== "number") return workers;
  return { ...workers, utilisation: size > 0 ? Math.round((busy / size) * 1000) / 1000 : 0 };
}

/** The `metrics_update` body for a reading; rates are per second since `previous` (0 without one). */
export function metricsUpdate(f: RealtimeFigures, intervalMs: number, previous: RealtimeFigures | null = null): State {
  const s = f.hub;
  const p = previous?.hub;
  const seconds = previous ? Math.max(0.001, (f.at - previous.at) / 1000) : 0;
  const rate = (total: number, prev: number | undefined) =>
    prev !== undefined ? Math.round(((total - prev) / seconds) * 100) / 100 : 0;
  return {
    timestamp: f.at / 1000,
    interval_ms: intervalMs,
    connections: f.connections,
    messages_per_second: rate(s.messages, p?.messages),
    bytes_per_second: rate(s.bytes, p?.bytes),
    deliveries_per_second: rate(s.deliveries, p?.deliveries),
    drops: s.drops,
    drops_since_last: p ? s.drops - p.drops : 0,
    messages_total: s.messages,
    bytes_total: s.bytes,
    deliveries_total: s.deliveries,
    publish_latency_ms: s.latency,
    publish_data_age_ms: s.dataAge,
    topics: s.topics,
    busiest_topics: f.busiestTopics,
    messages_by_kind: f.messagesByKind,
    jobs: f.jobs,
    workers: f.workers,
    memory: f.memory,
    history: {
      topics: s.history.topics, messages: s.history.messages, bytes: s.history.bytes,
      limits: { size: s.history.limits.size, ttl_ms: s.history.limits.ttlMs, max_bytes: s.history.limits.maxBytes },
      recoveries: s.history.recoveries, recovered: s.history.recovered, replayed: s.history.replayed,
    },
    lag: { acking: f.lag.acking, behind: f.lag.behind, max_lag: f.lag.maxLag, top: f.lag.top },
    ...(f.eventLoop && { event_loop_lag_ms: { p99: f.eventLoop.p99Ms, max: f.eventLoop.maxMs, window_ms: f.eventLoop.windowMs } }),
    ...f.extra,
  };
}

export interface MetricsDeps {
  hub: Hub;
  registry: Registry;
  intervalMs: number;
  collect?: CollectMetrics;
  clock?: Clock;
  logger?: RealtimeLogger;
  /** How many of the busiest topics to list (default 10). */
  topTopics?: number;
  /** Process memory (default process.memoryUsage()); injected in tests. */
  memory?: () => MemoryFigures;
  /** How many of the furthest-behind subscriptions to list (default 10). */
  topLagging?: number;
}

/**
 * Walks the connections once and keeps only the `limit` furthest behind, so a reading costs one
 * pass and a short list however many sockets are open. The latest seq is the hub's for the
 * subscription's wire topic (its tier's copy), as in the registry's status report.
 */
export function lagFigures(registry: Registry, latestSeq: (wire: string) => number, limit: number): LagFigures {
  const out: LagFigures = { acking: 0, behind: 0, maxLag: 0, top: [] };
  for (const conn of registry.all()) {
    for (const sub of conn.subs) {
      if (sub.acked === null) continue;
      out.acking++;
      const seq = latestSeq(sub.wire);
      const lag = Math.max(0, seq - sub.acked);
      if (lag === 0) continue;
      out.behind++;
      if (lag > out.maxLag) out.maxLag = lag;
      if (limit <= 0 || (out.top.length >= limit && lag <= out.top[out.top.length - 1].lag)) continue;
      const entry = { connection: conn.id, endpoint: conn.endpoint, topic: sub.topic, role: conn.identity.role, tier: conn.identity.tier, acked: sub.acked, seq, lag };
      let i = out.top.length;
      while (i > 0 && out.top[i - 1].lag < lag) i--;
      out.top.splice(i, 0, entry);
      if (out.top.length > limit) out.top.pop();
    }
  }
  return out;
}

export interface MetricsPublisher {
  /** Computes and publishes one update now (also what the first subscriber gets). */
  publishNow(): State;
  /** Reads the figures without publishing (GET /metrics). */
  figures(): RealtimeFigures;
  readonly intervalMs: number;
  readonly running: boolean;
  /** Detaches from the registry and stops the timer. */
  stop(): void;
}

export function createMetricsPublisher(deps: MetricsDeps): MetricsPublisher {
  const { hub, registry, intervalMs } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? quietLogger;
  let timer: unknown = null;
  const memory = deps.memory ?? processMemory;
  let last: RealtimeFigures | null = null;
  const kinds = kindCounter(hub);

  function figures(): RealtimeFigures {
    let collected: ReturnType<CollectMetrics> = {};
    try {
      collected = deps.collect?.() ?? {};
    } catch (error) {
      logger.error("metrics collect failed", { error });
    }
    const { jobs, workers, eventLoop, ...extra } = collected;
    const top = Object.entries(hub.perTopicCounts()).sort((a, b) => b[1] - a[1]).slice(0, deps.topTopics ?? 10);
    const r = registry.stats();
    return {
      at: clock.now(),
      connections: registry.active(),
      connectionsByEndpoint: r.by_endpoint,
      connectionsByRole: r.by_role,
      hub: hub.stats(),
      busiestTopics: Object.fromEntries(top),
      messagesByKind: kinds.fold(),
      jobs: jobs ?? {},
      workers: withUtilisation(workers ?? {}),
      memory: memory(),
      lag: lagFigures(registry, (wire) => hub.seqOfWire(wire), deps.topLagging ?? 10),
      eventLoop: eventLoop ?? null,
      extra,
    };
  }

  function publishNow(): State {
    const f = figures();
    const state = metricsUpdate(f, intervalMs, last);
    last = f;
    hub.set(METRICS_TOPIC, state);
    return state;
  }

  function schedule(): void {
    timer = clock.setTimeout(tick, intervalMs);
  }

  function tick(): void {
    timer = null;
    // The registry's count can miss a subscriber that went away without a close: ask Bun too.
    if (registry.topicSubscribers(METRICS_TOPIC) === 0 && !hub.hasSubscribers(METRICS_TOPIC)) return;
    try {
      publishNow();
    } catch (error) {
      logger.error("metrics update failed", { error });
    }
    schedule();
  }

  function start(): void {
    if (timer !== null) return;
    last = null; // rates start afresh: the previous figures may be hours old
    try {
      publishNow();
    } catch (error) {
      logger.error("metrics update failed", { error });
    }
    schedule();
  }

  function halt(): void {
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
  }

  const detach = registry.onTopicActivity((topic, subscribers) => {
    if (topic !== METRICS_TOPIC) return;
    if (subscribers > 0) start();
    else halt();
  });

  return {
    publishNow,
    figures,
    intervalMs,
    get running() {
      return timer !== null;
    },
    stop() {
      detach();
      kinds.detach();
      halt();
    },
  };
}
