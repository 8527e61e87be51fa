// The realtime hub: the latest state of every topic, its sequence number, and coalesced fan-out of
// that state in every registered wire format. Knows nothing of Elysia; Bun's server is the transport.
import { renderLegacy, renderMux, LEGACY_FORMAT, MUX_FORMAT, type Render } from "./formats";
import { FANOUT_BOUNDS, Histogram, LatencyHistogram, SIZE_BOUNDS_BYTES, type BucketCounts, type HistogramSnapshot } from "./histogram";
import { defaultResolveTopic, isTerminalState, wireTopic, type Resolution, type State } from "./topics";
import { quietLogger, systemClock, type Clock, type RealtimeLogger, type Transport } from "./transport";

export type { Render } from "./formats";
export type { State } from "./topics";
export type { Transport } from "./transport";

export interface HubDeps {
  transport: Transport;
  /** Is a topic servable, and what does it show before anyone set() it? Default: defaultResolveTopic. */
  resolveTopic?: (topic: string) => Resolution;
  tickMs?: number;
  clock?: Clock;
  logger?: RealtimeLogger;
  /** A terminal state is published at once, never held back by the tick. Default: job status complete/error/cancelled. */
  isTerminal?: (topic: string, state: State) => boolean;
  /** How many finished topics keep their final state (oldest forgotten first). Default 1000. */
  retainTerminalTopics?: number;
}

export type Snapshot = { ok: true; state: State | undefined; seq: number } | { ok: false; reason: string };
export interface PublishEvent {
  topic: string;
  state: State;
  seq: number;
  terminal: boolean;
  /** Unix ms the newest data in the state was produced at, when set() was told (see Hub.set). */
  sourceAt: number | undefined;
  /** Unix ms of this publish. */
  at: number;
}
export interface WireCount { count: number; lastAt: number }

export interface HubStats {
  /** Publish calls that reached the transport (one per wire topic per flush). */
  messages: number;
  bytes: number;
  /** messages x subscribers at publish time: what Bun fanned out. */
  deliveries: number;
  /** Publishes Bun reported dropped for at least one subscriber, plus drops the binding recorded. */
  drops: number;
  backpressured: number;
  renders: number;
  errors: number;
  topics: number;
  pending: number;
  latency: HistogramSnapshot;
  /** Age of the newest data a publish carried (publish time - the source time given to set()). */
  dataAge: HistogramSnapshot;
  /** Raw bucket counts for GET /metrics: set-to-publish wait, data age, subscribers and bytes per publish. */
  histograms: { publishLatencyMs: BucketCounts; dataAgeMs: BucketCounts; fanout: BucketCounts; messageBytes: BucketCounts };
}

export interface Hub {
  /**
   * Record the latest state of a topic; it goes out now, at the next tick, or at once if terminal.
   * `sourceAt`: unix ms at which the newest data in the state was produced (a worker's count),
   * when the producer knows; publishes then record the data's age (stats().dataAge).
   */
  set(topic: string, state: State, sourceAt?: number): void;
  /** Current state and the seq of the last message published on the topic (0: none yet). */
  snapshot(topic: string): Snapshot;
  /** The current state in one format (cached per seq), for a new subscriber or a drained one. */
  render(format: string, topic: string): string | null;
  /** Registers a wire format; its wire topics are `wireTopic(name, topic)`. */
  addFormat(name: string, render: Render): void;
  formats(): string[];
  hasSubscribers(topic: string): boolean;
  /** The hub's terminal test (a terminal state is published at once and ends one-topic sockets). */
  isTerminal(topic: string, state: State): boolean;
  /** Per wire topic publish count, for the registry's per-connection broadcast counts. */
  published(wire: string): WireCount;
  perTopicCounts(): Record<string, number>;
  onPublish(listener: (event: PublishEvent) => void): () => void;
  onDrop(listener: (wire: string) => void): () => void;
  recordDrop(count?: number): void;
  stats(): HubStats;
  forget(topic: string): void;
  /** Publishes everything pending now (before shutdown). */
  flushNow(): void;
  /** Flushes, then stops the timer for good; later set() calls only record state. */
  close(): void;
}

interface Entry {
  state: State;
  sourceAt: number | undefined;
  seq: number;
  lastSentAt: number;
  pending: boolean;
  pendingSince: number;
  terminal: boolean;
  messages: number;
  cache: Map<string, { seq: number; state: State; data: string | null }>;
}

const NONE: WireCount = Object.freeze({ count: 0, lastAt: 0 });

export function createHub(deps: HubDeps): Hub {
  const { transport } = deps;
  const tickMs = deps.tickMs ?? 50;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? quietLogger;
  const resolveTopic = deps.resolveTopic ?? defaultResolveTopic;
  const isTerminal = deps.isTerminal ?? isTerminalState;
  const retain = deps.retainTerminalTopics ?? 1000;

  const formats = new Map<string, Render>([[MUX_FORMAT, renderMux], [LEGACY_FORMAT, renderLegacy]]);
  const entries = new Map<string, Entry>();
  const pending = new Set<string>();
  const finished = new Map<string, true>(); // insertion order = age, for retention
  const wireCounts = new Map<string, { count: number; lastAt: number }>();
  const publishListeners = new Set<(e: PublishEvent) => void>();
  const dropListeners = new Set<(wire: string) => void>();
  const latency = new LatencyHistogram();
  const dataAge = new LatencyHistogram();
  const fanout = new Histogram(FANOUT_BOUNDS);
  const sizes = new Histogram(SIZE_BOUNDS_BYTES);
  const c = { messages: 0, bytes: 0, deliveries: 0, drops: 0, backpressured: 0, renders: 0, errors: 0 };

  // The one flush timer: armed only while some topic waits for its tick.
  let timer: unknown = null;
  let timerDueAt = Infinity;
  let closed = false;

  function arm(delay: number): void {
    const due = clock.now() + Math.max(0, delay);
    if (timer !== null && timerDueAt <= due) return;
    if (timer !== null) clock.clearTimeout(timer);
    timerDueAt = due;
    timer = clock.setTimeout(onTick, Math.max(0, delay));
  }

  function disarmIfIdle(): void {
    if (pending.size > 0 || timer === null) return;
    clock.clearTimeout(timer);
    timer = null;
    timerDueAt = Infinity;
  }

  function onTick(): void {
    timer = null;
    timerDueAt = Infinity;
    const now = clock.now();
    let next = Infinity;
    for (const topic of pending) {
      const e = entries.get(topic);
      if (!e) { pending.delete(topic); continue; }
      const due = e.lastSentAt + tickMs;
      // Half a millisecond of slack: timers may fire a hair early against a sub-ms clock.
      if (due <= now + 0.5) { pending.delete(topic); publish(topic, e, now); }
      else next = Math.min(next, due);
    }
    if (next !== Infinity && !closed) arm(next - now);
  }

  function publish(topic: string, e: Entry, now: number): void {
    const seq = ++e.seq;
    e.lastSentAt = now;
    if (e.pending) latency.record(now - e.pendingSince);
    if (e.sourceAt !== undefined) dataAge.record(now - e.sourceAt);
    e.pending = false;
    for (const [format, render] of formats) {
      const wire = wireTopic(format, topic);
      try {
        const subscribers = transport.subscriberCount(wire);
        if (subscribers === 0) continue; // nobody listens: not even rendered
        const data = render(topic, e.state, seq);
        c.renders++;
        e.cache.set(format, { seq, state: e.state, data });
        if (data === null) continue;
        const result = transport.publish(wire, data);
        c.messages++;
        e.messages++;
        const bytes = Buffer.byteLength(data);
        c.bytes += bytes;
        c.deliveries += subscribers;
        fanout.record(subscribers);
        sizes.record(bytes);
        let w = wireCounts.get(wire);
        if (!w) wireCounts.set(wire, (w = { count: 0, lastAt: 0 }));
        w.count++;
        w.lastAt = now;
        if (result === -1) c.backpressured++;
        if (result === 0) {
          c.drops++;
          for (const l of dropListeners) l(wire);
        }
      } catch (error) {
        // One bad renderer or transport hiccup must not stop the other formats or topics.
        c.errors++;
        logger.error("realtime publish failed", { topic, format, error });
      }
    }
    const event: PublishEvent = { topic, state: e.state, seq, terminal: e.terminal, sourceAt: e.sourceAt, at: now };
    for (const l of publishListeners) {
      try { l(event); } catch (error) { c.errors++; logger.error("realtime publish listener failed", { topic, error }); }
    }
    if (e.terminal) keepFinished(topic);
  }

  function keepFinished(topic: string): void {
    finished.delete(topic);
    finished.set(topic, true);
    while (finished.size > retain) {
      const oldest = finished.keys().next().value as string;
      finished.delete(oldest);
      forget(oldest);
    }
  }

  function forget(topic: string): void {
    entries.delete(topic);
    pending.delete(topic);
    finished.delete(topic);
    for (const format of formats.keys()) wireCounts.delete(wireTopic(format, topic));
    disarmIfIdle();
  }

  function set(topic: string, state: State, sourceAt?: number): void {
    const now = clock.now();
    let e = entries.get(topic);
    if (!e) {
      e = { state, sourceAt, seq: 0, lastSentAt: -Infinity, pending: false, pendingSince: now, terminal: false, messages: 0, cache: new Map() };
      entries.set(topic, e);
    }
    e.state = state;
    e.sourceAt = sourceAt;
    e.terminal = isTerminal(topic, state);
    if (!e.terminal) finished.delete(topic);
    if (!e.pending) { e.pending = true; e.pendingSince = now; }
    if (closed) return;
    // Terminal: at once, so the final counts are never lost behind a tick. Quiet topic: at once too.
    if (e.terminal || now - e.lastSentAt >= tickMs) {
      pending.delete(topic);
      publish(topic, e, now);
      disarmIfIdle();
    } else {
      pending.add(topic);
      arm(e.lastSentAt + tickMs - now);
    }
  }

  function snapshot(topic: string): Snapshot {
    const e = entries.get(topic);
    if (e) return { ok: true, state: e.state, seq: e.seq };
    const r = resolveTopic(topic);
    return r.ok ? { ok: true, state: r.initial, seq: 0 } : r;
  }

  function render(format: string, topic: string): string | null {
    const renderer = formats.get(format);
    if (!renderer) throw new Error(`unknown realtime format "${format}"`);
    const e = entries.get(topic);
    if (e) {
      const cached = e.cache.get(format);
      if (cached && cached.seq === e.seq && cached.state === e.state) return cached.data;
      const data = renderer(topic, e.state, e.seq);
      c.renders++;
      e.cache.set(format, { seq: e.seq, state: e.state, data });
      return data;
    }
    const r = resolveTopic(topic);
    if (!r.ok || !r.initial) return null;
    c.renders++;
    return renderer(topic, r.initial, 0);
  }

  function flushNow(): void {
    const now = clock.now();
    for (const topic of pending) {
      const e = entries.get(topic);
      pending.delete(topic);
      if (e) publish(topic, e, now);
    }
    disarmIfIdle();
  }

  return {
    set,
    snapshot,
    render,
    addFormat(name, renderer) {
      if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw new Error(`format name "${name}" must be letters, digits, _ . : -`);
      if (formats.has(name)) throw new Error(`realtime format "${name}" is already registered`);
      formats.set(name, renderer);
    },
    formats: () => [...formats.keys()],
    hasSubscribers(topic) {
      for (const format of formats.keys()) if (transport.subscriberCount(wireTopic(format, topic)) > 0) return true;
      return false;
    },
    isTerminal,
    published: (wire) => wireCounts.get(wire) ?? NONE,
    perTopicCounts() {
      const out: Record<string, number> = {};
      for (const [topic, e] of entries) out[topic] = e.messages;
      return out;
    },
    onPublish(listener) {
      publishListeners.add(listener);
      return () => publishListeners.delete(listener);
    },
    onDrop(listener) {
      dropListeners.add(listener);
      return () => dropListeners.delete(listener);
    },
    recordDrop(count = 1) {
      c.drops += count;
    },
    stats: () => ({
      ...c, topics: entries.size, pending: pending.size, latency: latency.snapshot(), dataAge: dataAge.snapshot(),
      histograms: { publishLatencyMs: latency.raw(), dataAgeMs: dataAge.raw(), fanout: fanout.raw(), messageBytes: sizes.raw() },
    }),
    forget,
    flushNow,
    close() {
      flushNow();
      closed = true;
    },
  };
}
