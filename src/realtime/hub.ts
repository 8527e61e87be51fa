// The realtime hub: the latest state of every topic, its sequence number, and coalesced fan-out of
// that state in every registered wire format. Knows nothing of Elysia; Bun's server is the transport.
//
// Two kinds of topic. A state topic (set) carries snapshots: each message replaces the ones before,
// so they are coalesced to one per tick and a new subscriber gets the latest. An event topic (emit)
// carries messages that each matter: one message per emit, or with `merge` the events of one tick
// folded into one message; a new subscriber gets what `eventSnapshot` says the topic holds so far.
// A delayed tier (live.md "Tiers": starter) gets its own copy of the topics `delay.applies` to:
// the same bytes and seq, `delay.ms` later, published once per topic per format on its own wire
// topic (wireTopic with the tier), never per connection.
import { renderLegacy, renderMux, LEGACY_FORMAT, MUX_FORMAT, type Render } from "./formats";
import { DelayedTier, type DelayedMessage, type DelayedTierStats, type TierDelay } from "./delayed-tier";
import { History, HISTORY_DEFAULTS, type HistoryLimits, type HistoryStats } from "./history";
import { FANOUT_BOUNDS, Histogram, LatencyHistogram, SIZE_BOUNDS_BYTES, type BucketCounts, type HistogramSnapshot } from "./histogram";
import { defaultResolveTopic, isTerminalState, splitWireTopic, wireTopic, type Resolution, type State } from "./topics";

export interface EmitOptions {
  /** Fold the events of one tick into one message (e.g. every tick of a live game since the last message). */
  merge?: (pending: State, next: State) => State;
  /** The topic's last message: published at once, and the topic is retained like a finished job's. */
  terminal?: boolean;
  sourceAt?: number;
  /**
   * The message's seq when its producer numbers them (a topic whose history is in the store):
   * one more than the topic's last; a merged batch takes the seq of its last event.
   */
  seq?: number;
}

/** A subscriber's place in a topic: protocol.md's `since`. */
export interface Since {
  epoch: string;
  seq: number;
}

/** What a subscriber with `since` is sent before the live messages, and whether that is all it missed. */
export interface Resumption {
  recovered: boolean;
  messages: string[];
}

/** Stored messages of a topic after a seq (the store's history), or undefined: the topic has none. */
export type StoredHistory = (topic: string, afterSeq: number, limit: number, tier?: string) => Promise<{ seq: number; state: State }[]> | undefined;
import { quietLogger, systemClock, type Clock, type RealtimeLogger, type Transport } from "./transport";

export type { Render } from "./formats";
export type { State } from "./topics";
export type { Transport } from "./transport";
export type { TierDelay } from "./delayed-tier";

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
  /** The tier that gets some topics late; none by default. */
  delay?: TierDelay;
  /**
   * What a new subscriber of an event topic gets first, as of message `seq` of its copy (0: before
   * any): e.g. a live game's ticks so far in one message. Undefined: nothing.
   */
  eventSnapshot?: (topic: string, seq: number) => State | undefined;
  /** History kept per in-memory event topic for `since` (protocol.md); size 0 keeps none. */
  history?: HistoryLimits;
  /** Most messages replayed to one recovering subscriber (more: `recovered: false`). Default 1000. */
  recoveryLimit?: number;
  /** Where topics whose history outlives the process (signals) keep it. */
  storedHistory?: StoredHistory;
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
  histograms: { publishLatencyMs: BucketCounts; dataAgeMs: BucketCounts; fanout: BucketCounts; messageBytes: BucketCounts; delayedLatenessMs: BucketCounts };
  /** The delayed tier's copies: messages waiting, and how late after their due time they went out. */
  delayed: DelayedTierStats | { tier: null; ms: 0; waiting: 0; sent: 0; lateness: HistogramSnapshot };
  /** The event topics' recent messages held for recovery, and what recoveries did. */
  history: HistoryStats & { recoveries: number; recovered: number; replayed: number };
}

export interface Hub {
  /**
   * Record the latest state of a topic; it goes out now, at the next tick, or at once if terminal.
   * `sourceAt`: unix ms at which the newest data in the state was produced (a worker's count),
   * when the producer knows; publishes then record the data's age (stats().dataAge).
   */
  set(topic: string, state: State, sourceAt?: number): void;
  /**
   * Publishes one event on an event topic: at once, or with `merge` folded with the other events
   * of this tick into one message. Events keep their order; a terminal one goes out at once.
   */
  emit(topic: string, event: State, options?: EmitOptions): void;
  /** Current state and the seq of the last message published on the topic (0: none yet). */
  snapshot(topic: string): Snapshot;
  /** The current state in one format (cached per seq), for a drained subscriber; null for an event topic. */
  render(format: string, topic: string, tier?: string): string | null;
  /** What a new subscriber gets before the live messages, in order: a state topic's state, an event topic's snapshot. */
  initial(format: string, topic: string, tier?: string): string[];
  /** The Bun topic a subscriber of this tier listens on: the delayed copy's, or the common one. */
  wireFor(format: string, topic: string, tier?: string): string;
  /** A topic's epoch and the seq of the last message this tier has been sent (protocol.md's subscription_confirmed). */
  position(topic: string, tier?: string): Since;
  /** The latest seq sent on a wire topic (the registry's lag behind a client's ack). */
  seqOfWire(wire: string): number;
  /**
   * What a `/ws` subscriber resuming from `since` is sent first (protocol.md "History and
   * recovery"): the messages after it, byte for byte, when all are held (in memory, or in the
   * store: then a promise); else `recovered: false` with a state topic's current state.
   */
  resume(topic: string, tier: string | undefined, since: Since): Resumption | Promise<Resumption>;
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
  kind: "state" | "event";
  /** Names this topic's history: a new one whenever the history before it is lost (protocol.md). */
  epoch: string;
  /** The seq it started from (the store's, for a topic whose history lives there). */
  baseSeq: number;
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
/** The figures of a hub without a delayed tier: nothing ever waited. */
const NO_LATENESS = new LatencyHistogram();

export function createHub(deps: HubDeps): Hub {
  const { transport } = deps;
  const tickMs = deps.tickMs ?? 50;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? quietLogger;
  const resolveTopic = deps.resolveTopic ?? defaultResolveTopic;
  const isTerminal = deps.isTerminal ?? isTerminalState;
  const retain = deps.retainTerminalTopics ?? 1000;
  const eventSnapshot = deps.eventSnapshot ?? (() => undefined);
  const history = new History(deps.history ?? HISTORY_DEFAULTS);
  const recoveryLimit = deps.recoveryLimit ?? 1000;
  // An in-memory topic's epoch: this hub's boot, and the topic's place among the topics it made.
  const boot = crypto.randomUUID().replace(/-/g, "").slice(0, 10);
  let epochs = 0;
  const recoveries = { recoveries: 0, recovered: 0, replayed: 0 };
  let sweepTimer: unknown = null;

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
  const late = deps.delay && deps.delay.ms > 0 ? new DelayedTier(deps.delay, clock, deliverDelayed) : undefined;

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

  /** One message to one wire topic's subscribers, counted. */
  function send(wire: string, data: string, subscribers: number, now: number, e: Entry | undefined): void {
    const result = transport.publish(wire, data);
    c.messages++;
    if (e) e.messages++;
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
  }

  function publish(topic: string, e: Entry, now: number): void {
    const seq = ++e.seq;
    e.lastSentAt = now;
    if (e.pending) latency.record(now - e.pendingSince);
    if (e.sourceAt !== undefined) dataAge.record(now - e.sourceAt);
    e.pending = false;
    const delayed = late?.applies(topic);
    const rendered = new Map<string, string | null>();
    const keep = e.kind === "event" && history.limits.size > 0;
    for (const [format, render] of formats) {
      const wire = wireTopic(format, topic);
      try {
        const subscribers = transport.subscriberCount(wire);
        // Nobody listens: not even rendered, unless the message goes in the topic's history.
        if (subscribers === 0 && !(keep && format === MUX_FORMAT)) continue;
        const data = render(topic, e.state, seq, e.epoch);
        c.renders++;
        if (keep && format === MUX_FORMAT && data !== null) {
          history.append(topic, seq, data, now);
          armSweep();
        }
        if (subscribers === 0) {
          if (delayed) rendered.set(format, data);
          continue;
        }
        if (e.kind === "state") e.cache.set(format, { seq, state: e.state, data });
        if (delayed) rendered.set(format, data);
        if (data === null) continue;
        send(wire, data, subscribers, now, e);
      } catch (error) {
        // One bad renderer or transport hiccup must not stop the other formats or topics.
        c.errors++;
        logger.error("realtime publish failed", { topic, format, error });
      }
    }
    if (delayed) late!.push({ topic, kind: e.kind, state: e.state, seq, terminal: e.terminal, data: rendered });
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

  /** A due message of the delayed tier: the same bytes and seq, on the tier's wire topics. */
  function deliverDelayed(d: DelayedMessage, now: number): number {
    const e = entries.get(d.topic);
    let sent = 0;
    for (const [format, render] of formats) {
      const wire = wireTopic(format, d.topic, late!.tier);
      try {
        const subscribers = transport.subscriberCount(wire);
        if (subscribers === 0) continue;
        let data = d.data.get(format);
        if (data === undefined) {
          data = render(d.topic, d.state, d.seq, e?.epoch ?? "");
          c.renders++;
        }
        if (data === null) continue;
        send(wire, data, subscribers, now, e);
        sent++;
      } catch (error) {
        c.errors++;
        logger.error("realtime delayed publish failed", { topic: d.topic, format, error });
      }
    }
    return sent;
  }

  function armSweep(): void {
    if (sweepTimer !== null || closed) return;
    sweepTimer = clock.setTimeout(() => {
      sweepTimer = null;
      history.sweep(clock.now());
      if (history.stats().messages > 0) armSweep();
    }, Math.max(1000, history.limits.ttlMs / 4));
  }

  function forget(topic: string): void {
    history.forget(topic);
    entries.delete(topic);
    pending.delete(topic);
    finished.delete(topic);
    late?.forget(topic);
    for (const format of formats.keys()) {
      wireCounts.delete(wireTopic(format, topic));
      if (late) wireCounts.delete(wireTopic(format, topic, late.tier));
    }
    disarmIfIdle();
  }

  function isDelayedTier(topic: string, who: string | undefined): boolean {
    return late?.covers(topic, who) ?? false;
  }

  /** A topic's record: its seq and epoch go on from the store's when its history lives there. */
  function newEntry(kind: Entry["kind"], topic: string, state: State, sourceAt: number | undefined, now: number): Entry {
    // Only event topics keep a history, so only theirs can live in the store.
    const r = kind === "event" ? resolveTopic(topic) : undefined;
    const stored = r?.ok && r.epoch !== undefined ? r : undefined;
    return {
      // A state topic needs no history (each message replaces the last): the process's epoch will do.
      // An event topic's history is lost when its record is: a new epoch each time it is made.
      kind, epoch: stored?.epoch ?? (kind === "state" ? boot : `${boot}.${(++epochs).toString(36)}`), state, sourceAt, seq: stored?.seq ?? 0, baseSeq: stored?.seq ?? 0,
      lastSentAt: -Infinity, pending: false, pendingSince: now, terminal: false, messages: 0, cache: new Map(),
    };
  }

  /** A producer-numbered message: the seq before it, so publish() gives it its own. */
  function placeSeq(e: Entry, seq: number | undefined): void {
    if (seq !== undefined && seq - 1 > e.seq) e.seq = seq - 1;
  }

  function emit(topic: string, event: State, options: EmitOptions = {}): void {
    const now = clock.now();
    let e = entries.get(topic);
    if (!e) entries.set(topic, (e = newEntry("event", topic, event, options.sourceAt, now)));
    e.kind = "event";
    if (options.merge && !options.terminal) {
      e.state = e.pending ? options.merge(e.state, event) : event;
      e.sourceAt = options.sourceAt;
      e.terminal = false;
      finished.delete(topic);
      if (!e.pending) { e.pending = true; e.pendingSince = now; }
      if (closed) return;
      if (now - e.lastSentAt >= tickMs) {
        pending.delete(topic);
        placeSeq(e, options.seq);
        publish(topic, e, now);
        disarmIfIdle();
      } else {
        pending.add(topic);
        arm(e.lastSentAt + tickMs - now);
      }
      return;
    }
    // One message per event, in order: a batch still waiting for its tick goes first.
    if (e.pending && !closed) {
      pending.delete(topic);
      publish(topic, e, now);
    }
    e.state = event;
    e.sourceAt = options.sourceAt;
    e.terminal = options.terminal === true;
    if (!e.terminal) finished.delete(topic);
    e.pending = true;
    e.pendingSince = now;
    if (closed) return;
    placeSeq(e, options.seq);
    publish(topic, e, now);
    disarmIfIdle();
  }

  /** What kind a topic is: as published, else as resolved (an event topic may have no message yet). */
  function kindOf(topic: string): Entry["kind"] {
    const e = entries.get(topic);
    if (e) return e.kind;
    const r = resolveTopic(topic);
    return r.ok && r.events ? "event" : "state";
  }

  function set(topic: string, state: State, sourceAt?: number): void {
    const now = clock.now();
    let e = entries.get(topic);
    if (!e) entries.set(topic, (e = newEntry("state", topic, state, sourceAt, now)));
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
    if (e) return { ok: true, state: e.kind === "state" ? e.state : undefined, seq: e.seq };
    const r = resolveTopic(topic);
    return r.ok ? { ok: true, state: r.initial, seq: 0 } : r;
  }

  function render(format: string, topic: string, tier?: string): string | null {
    const renderer = formats.get(format);
    if (!renderer) throw new Error(`unknown realtime format "${format}"`);
    if (kindOf(topic) === "event") return null;
    if (isDelayedTier(topic, tier)) {
      // Only what the tier has been delivered: nothing before its first copy is due.
      const copy = late!.copy(topic);
      if (!copy?.state) return null;
      c.renders++;
      return renderer(topic, copy.state, copy.seq, entries.get(topic)?.epoch ?? position(topic).epoch);
    }
    const e = entries.get(topic);
    if (e) {
      const cached = e.cache.get(format);
      if (cached && cached.seq === e.seq && cached.state === e.state) return cached.data;
      const data = renderer(topic, e.state, e.seq, e.epoch);
      c.renders++;
      e.cache.set(format, { seq: e.seq, state: e.state, data });
      return data;
    }
    const r = resolveTopic(topic);
    if (!r.ok || !r.initial) return null;
    c.renders++;
    return renderer(topic, r.initial, 0, position(topic).epoch);
  }

  function initial(format: string, topic: string, tier?: string): string[] {
    const renderer = formats.get(format);
    if (!renderer) throw new Error(`unknown realtime format "${format}"`);
    if (kindOf(topic) === "state") {
      const data = render(format, topic, tier);
      return data === null ? [] : [data];
    }
    const e = entries.get(topic);
    // An event topic: its content so far as of the tier's last message, then a final message, if any.
    const delayedTier = isDelayedTier(topic, tier);
    const copy = delayedTier ? late!.copy(topic) : undefined;
    const seq = delayedTier ? copy?.seq ?? 0 : e?.seq ?? 0;
    const out: string[] = [];
    const snap = eventSnapshot(topic, seq);
    if (snap) {
      c.renders++;
      const data = renderer(topic, snap, seq, position(topic, tier).epoch);
      if (data !== null) out.push(data);
    }
    const last = delayedTier ? (copy?.terminal ? copy.state : undefined) : e?.terminal ? e.state : undefined;
    if (last) {
      c.renders++;
      const data = renderer(topic, last, seq, position(topic, tier).epoch);
      if (data !== null) out.push(data);
    }
    return out;
  }

  /** Epoch and latest seq as this tier sees them. An event topic gets its record now, so the epoch it is told holds. */
  function position(topic: string, tier?: string): Since {
    let e = entries.get(topic);
    if (!e) {
      const r = resolveTopic(topic);
      if (!r.ok) return { epoch: boot, seq: 0 };
      if (!r.events) return { epoch: r.epoch ?? boot, seq: r.seq ?? 0 };
      entries.set(topic, (e = newEntry("event", topic, {}, undefined, clock.now())));
    }
    if (isDelayedTier(topic, tier)) return { epoch: e.epoch, seq: late!.copy(topic)?.seq ?? e.baseSeq };
    return { epoch: e.epoch, seq: e.seq };
  }

  function resume(topic: string, tier: string | undefined, since: Since): Resumption | Promise<Resumption> {
    recoveries.recoveries++;
    const kind = kindOf(topic);
    const pos = position(topic, tier);
    const lost = (): Resumption => ({ recovered: false, messages: kind === "state" ? initial(MUX_FORMAT, topic, tier) : [] });
    const done = (r: Resumption): Resumption => {
      recoveries.recovered++;
      recoveries.replayed += r.messages.length;
      return r;
    };
    if (since.epoch !== pos.epoch || since.seq > pos.seq) return lost();
    // A state topic: its latest state replaces whatever was missed.
    if (kind === "state") return done({ recovered: true, messages: since.seq < pos.seq ? initial(MUX_FORMAT, topic, tier) : [] });
    if (pos.seq - since.seq > recoveryLimit) return lost();
    const held = history.range(topic, since.seq, pos.seq, clock.now());
    if (held) return done({ recovered: true, messages: held });
    const stored = deps.storedHistory?.(topic, since.seq, recoveryLimit + 1, tier);
    if (!stored) return lost();
    const renderer = formats.get(MUX_FORMAT)!;
    return stored.then((rows) => {
      // Read while messages went on: those the store had not shown yet are in memory.
      const now = position(topic, tier);
      if (now.epoch !== since.epoch) return lost();
      const messages: string[] = [];
      let next = since.seq + 1;
      for (const r of rows) {
        if (r.seq !== next || r.seq > now.seq) break;
        const data = renderer(topic, r.state, r.seq, now.epoch);
        c.renders++;
        if (data !== null) messages.push(data);
        next++;
      }
      if (next <= now.seq) {
        const more = history.range(topic, next - 1, now.seq, clock.now());
        if (!more) return lost();
        messages.push(...more);
      }
      return messages.length > recoveryLimit ? lost() : done({ recovered: true, messages });
    }, (error) => {
      c.errors++;
      logger.error("reading a topic's stored history failed", { topic, error });
      return lost();
    });
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
    emit,
    snapshot,
    render,
    initial,
    position,
    resume,
    seqOfWire(wire) {
      const { topic, tier } = splitWireTopic(wire);
      return position(topic, tier).seq;
    },
    wireFor: (format, topic, tier) => (isDelayedTier(topic, tier) ? wireTopic(format, topic, late!.tier) : wireTopic(format, topic)),
    addFormat(name, renderer) {
      if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw new Error(`format name "${name}" must be letters, digits, _ . : -`);
      if (formats.has(name)) throw new Error(`realtime format "${name}" is already registered`);
      formats.set(name, renderer);
    },
    formats: () => [...formats.keys()],
    hasSubscribers(topic) {
      for (const format of formats.keys()) {
        if (transport.subscriberCount(wireTopic(format, topic)) > 0) return true;
        if (late?.applies(topic) && transport.subscriberCount(wireTopic(format, topic, late.tier)) > 0) return true;
      }
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
      histograms: { publishLatencyMs: latency.raw(), dataAgeMs: dataAge.raw(), fanout: fanout.raw(), messageBytes: sizes.raw(), delayedLatenessMs: (late?.latenessRaw() ?? NO_LATENESS.raw()) },
      delayed: late?.stats() ?? { tier: null, ms: 0, waiting: 0, sent: 0, lateness: NO_LATENESS.snapshot() },
      history: { ...history.stats(), ...recoveries },
    }),
    forget,
    flushNow,
    close() {
      flushNow();
      closed = true;
      late?.close();
      if (sweepTimer !== null) clock.clearTimeout(sweepTimer);
      sweepTimer = null;
    },
  };
}
