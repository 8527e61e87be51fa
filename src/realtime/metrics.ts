// The `metrics` topic: a metrics_update every interval while anyone listens, in any format.
// Nothing is computed and no timer runs while nobody subscribes.
import type { Hub } from "./hub";
import type { Registry } from "./registry";
import { METRICS_TOPIC, type State } from "./topics";
import { quietLogger, systemClock, type Clock, type RealtimeLogger } from "./transport";

/** What only the lead knows: jobs by state, worker utilisation, anything else worth showing. */
export type CollectMetrics = () => { jobs?: Record<string, number>; workers?: Record<string, unknown>; [k: string]: unknown };

export interface MetricsDeps {
  hub: Hub;
  registry: Registry;
  intervalMs: number;
  collect?: CollectMetrics;
  clock?: Clock;
  logger?: RealtimeLogger;
  /** How many of the busiest topics to list (default 10). */
  topTopics?: number;
}

export interface MetricsPublisher {
  /** Computes and publishes one update now (also what the first subscriber gets). */
  publishNow(): State;
  readonly running: boolean;
  /** Detaches from the registry and stops the timer. */
  stop(): void;
}

export function createMetricsPublisher(deps: MetricsDeps): MetricsPublisher {
  const { hub, registry, intervalMs } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? quietLogger;
  let timer: unknown = null;
  let last: { at: number; messages: number; bytes: number; deliveries: number; drops: number } | null = null;

  function compute(): State {
    const now = clock.now();
    const s = hub.stats();
    const seconds = last ? Math.max(0.001, (now - last.at) / 1000) : 0;
    const rate = (total: number, prev: number | undefined) =>
      last && prev !== undefined ? Math.round(((total - prev) / seconds) * 100) / 100 : 0;
    const top = Object.entries(hub.perTopicCounts()).sort((a, b) => b[1] - a[1]).slice(0, deps.topTopics ?? 10);
    let extra: ReturnType<CollectMetrics> = {};
    try {
      extra = deps.collect?.() ?? {};
    } catch (error) {
      logger.error("metrics collect failed", { error });
    }
    const state: State = {
      timestamp: now / 1000,
      interval_ms: intervalMs,
      connections: registry.active(),
      messages_per_second: rate(s.messages, last?.messages),
      bytes_per_second: rate(s.bytes, last?.bytes),
      deliveries_per_second: rate(s.deliveries, last?.deliveries),
      drops: s.drops,
      drops_since_last: last ? s.drops - last.drops : 0,
      messages_total: s.messages,
      bytes_total: s.bytes,
      publish_latency_ms: s.latency,
      topics: s.topics,
      busiest_topics: Object.fromEntries(top),
      jobs: {},
      workers: {},
      ...extra,
    };
    last = { at: now, messages: s.messages, bytes: s.bytes, deliveries: s.deliveries, drops: s.drops };
    return state;
  }

  function publishNow(): State {
    const state = compute();
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
    get running() {
      return timer !== null;
    },
    stop() {
      detach();
      halt();
    },
  };
}
