// What the live store's commits look like to the realtime side (live.md "Topics"): the one owner
// of the in-memory picture of live games (their ticks so far, last tick, known strategies), fed
// after each commit by the ingest, settlement and strategy routes, and publishing it on the hub:
// `live` (state), `live:{game_id}` (tick batches, one message per broadcast tick), `signals` and
// `signals:{strategy_id}` (one message per signal). Listeners (the pages) hear the same changes.
// Knows nothing of HTTP; the hub knows nothing of games.
import { asc, eq, isNull } from "drizzle-orm";
import type { Database } from "../db/database";
import { liveGames, liveTickChunks, meta } from "../db/schema";
import { unpackFloat64 } from "../games/packed";
import {
  liveGameTopic, strategySignalsTopic, LIVE_TOPIC, SIGNALS_TOPIC, type Hub, type Resolution, type State,
} from "../realtime";
import { LIVE_GAME_PREFIX, STRATEGY_SIGNALS_PREFIX } from "../realtime/topics";

export { LIVE_TOPIC, SIGNALS_TOPIC, liveGameTopic, strategySignalsTopic };
import type { RealtimeLogger } from "../realtime/transport";
import type { LiveGameSummary } from "./repository";
import { readSignals, signalPositions, type Signal, type TopicSeq } from "./signals";
import { listStrategies, strategyJson, type StrategyJson } from "./strategies";

const GAME_PREFIX = LIVE_GAME_PREFIX;
const STRATEGY_PREFIX = STRATEGY_SIGNALS_PREFIX;

/** The topics of live.md (and the pages built on them): what a starter identity gets late. */
export function isLiveTopic(topic: string): boolean {
  return topic === LIVE_TOPIC || topic === SIGNALS_TOPIC || topic.startsWith(GAME_PREFIX) || topic.startsWith(STRATEGY_PREFIX);
}

/** A tick as the topics carry it: [t, price, fair]. */
export type TickTriple = [number, number, number];

/** A committed tick, as the ingest stored it. */
export interface CommittedTick {
  game_id: string;
  t: number;
  price: number;
  fair: number;
  /** Its number in the game (0: the first tick), where the ingest knows it. */
  seq?: number;
}

export type LiveChange =
  /** Ticks stored for one game, in order; `total`: the game's tick count after them. */
  | { kind: "ticks"; game_id: string; ticks: TickTriple[]; total: number; started_at: string }
  | { kind: "signals"; signals: Signal[] }
  | { kind: "settled"; game_id: string; outcome: 0 | 1 }
  /** A strategy deployed or stopped. */
  | { kind: "strategy"; strategy: StrategyJson };

/** A game's ticks so far, copy-free: the first `count` entries of each array. Never changes after it is handed out. */
export interface TickSeries {
  readonly count: number;
  readonly t: Float64Array;
  readonly price: Float64Array;
  readonly fair: Float64Array;
}

/** Append-only columns: a series handed out keeps its view when later ticks land (a growth copies). */
class TickBuffer {
  t = new Float64Array(64);
  price = new Float64Array(64);
  fair = new Float64Array(64);
  count = 0;

  push(t: number, price: number, fair: number): void {
    if (this.count === this.t.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.t = grow(this.t);
      this.price = grow(this.price);
      this.fair = grow(this.fair);
    }
    this.t[this.count] = t;
    this.price[this.count] = price;
    this.fair[this.count] = fair;
    this.count++;
  }

  series(count = this.count): TickSeries {
    const n = Math.min(count, this.count);
    return Object.freeze({ count: n, t: this.t.subarray(0, n), price: this.price.subarray(0, n), fair: this.fair.subarray(0, n) });
  }

  triples(from: number, to: number): TickTriple[] {
    const out: TickTriple[] = [];
    for (let i = from; i < to; i++) out.push([this.t[i], this.price[i], this.fair[i]]);
    return out;
  }
}

interface GameEntry {
  summary: LiveGameSummary;
  ticks: TickBuffer;
  /** Ticks covered by each message published on live:{game} (index: seq; 0: what was loaded at start). */
  uptoBySeq: number[];
  settled: 0 | 1 | null;
}

export interface LiveFeedDeps {
  hub: Hub;
  /** The store the signals' history is read back from (recovery, protocol.md). */
  database?: () => Database;
  /** --starter-delay-ms and the clock: what a starter recovers from the store is at least that old. */
  starterDelayMs?: number;
  now?: () => number;
  logger?: RealtimeLogger;
  /** Settled games whose ticks stay in memory for late subscribers and their page. */
  retainSettled?: number;
}

const merge = (a: State, b: State): State => ({
  type: "ticks", game_id: a.game_id, ticks: [...(a.ticks as TickTriple[]), ...(b.ticks as TickTriple[])], upto: b.upto,
});

export class LiveFeed {
  private readonly games = new Map<string, GameEntry>();
  private readonly settledOrder: string[] = [];
  private readonly strategies = new Map<number, StrategyJson>();
  private readonly listeners = new Set<(change: LiveChange) => void>();
  private readonly retainSettled: number;
  /** The signals topics' history lives in the store: its name, and the last seq of each topic. */
  private signalsEpoch: string | undefined;
  private lastSeq = 0;
  private readonly lastStrategySeq = new Map<number, number>();

  constructor(private readonly deps: LiveFeedDeps) {
    this.retainSettled = deps.retainSettled ?? 100;
    deps.hub.onPublish((e) => {
      if (!e.topic.startsWith(GAME_PREFIX)) return;
      const g = this.games.get(e.topic.slice(GAME_PREFIX.length));
      const upto = e.state.upto;
      if (g && typeof upto === "number") g.uptoBySeq[e.seq] = upto;
    });
  }

  /** The live games, their ticks and the strategies in the store: once, when it opens. */
  async load(database: Database): Promise<void> {
    const rows = await database.db.select().from(liveGames).where(isNull(liveGames.settledAt));
    for (const g of rows) {
      this.games.set(g.id, {
        summary: { game_id: g.id, ticks: g.tickCount, started_at: g.startedAt.toISOString(), t: g.lastT, price: g.lastPrice, fair: g.lastFair },
        ticks: new TickBuffer(), uptoBySeq: [], settled: null,
      });
    }
    if (rows.length > 0) {
      const chunks = await database.db.select({ gameId: liveTickChunks.gameId, t: liveTickChunks.t, price: liveTickChunks.price, fair: liveTickChunks.fair })
        .from(liveTickChunks).orderBy(asc(liveTickChunks.gameId), asc(liveTickChunks.firstSeq));
      for (const r of chunks) {
        const buffer = this.games.get(r.gameId)?.ticks;
        if (!buffer) continue;
        const t = unpackFloat64(r.t), price = unpackFloat64(r.price), fair = unpackFloat64(r.fair);
        for (let i = 0; i < t.length; i++) buffer.push(t[i], price[i], fair[i]);
      }
    }
    for (const g of this.games.values()) g.uptoBySeq[0] = g.ticks.count;
    for (const s of await listStrategies(database)) this.strategies.set(s.id, strategyJson(s));
    await this.loadSignalPositions(database);
    // A signals topic made before the store opened (a socket that came early) goes on from the store's epoch and seq.
    this.deps.hub.forget(SIGNALS_TOPIC);
    for (const id of this.strategies.keys()) this.deps.hub.forget(strategySignalsTopic(id));
    this.deps.hub.set(LIVE_TOPIC, this.liveState());
  }

  /** The signals' epoch (made once per store) and where each signals topic stands. */
  private async loadSignalPositions(database: Database): Promise<void> {
    await database.db.insert(meta).values({ key: "signals_epoch", value: `s${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}` }).onConflictDoNothing();
    const [row] = await database.db.select().from(meta).where(eq(meta.key, "signals_epoch"));
    this.signalsEpoch = row.value;
    const positions = await signalPositions(database.db);
    this.lastSeq = positions.seq;
    for (const [id, seq] of positions.perStrategy) this.lastStrategySeq.set(id, seq);
  }

  /**
   * The stored messages of `signals` or `signals:{id}` after `afterSeq` (recovery after a restart, or
   * further back than memory holds); for a starter, only those at least the delay old.
   */
  storedHistory(topic: string, afterSeq: number, limit: number, tier?: string): Promise<{ seq: number; state: State }[]> | undefined {
    if (this.signalsEpoch === undefined) return undefined; // the store is not open yet
    let database: Database | undefined;
    try {
      database = this.deps.database?.();
    } catch {
      return undefined;
    }
    if (!database) return undefined;
    const strategy = topic === SIGNALS_TOPIC ? undefined : this.strategyOfTopic(topic);
    if (topic !== SIGNALS_TOPIC && strategy === undefined) return undefined;
    const delay = this.deps.starterDelayMs ?? 0;
    const notAfter = tier === "starter" && delay > 0 ? new Date((this.deps.now ?? Date.now)() - delay) : undefined;
    return readSignals(database.db, strategy === undefined ? "seq" : "strategy_seq", afterSeq, { strategy, notAfter }, limit)
      .then((rows) => rows.map((r) => ({ seq: strategy === undefined ? r.seq : r.strategySeq, state: { type: "signal", signal: r.signal } })));
  }

  private strategyOfTopic(topic: string): number | undefined {
    if (!topic.startsWith(STRATEGY_PREFIX)) return undefined;
    const raw = topic.slice(STRATEGY_PREFIX.length);
    const id = /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : NaN;
    return this.strategies.has(id) ? id : undefined;
  }

  onChange(listener: (change: LiveChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The live games now, oldest first. */
  liveGames(): LiveGameSummary[] {
    return [...this.games.values()].filter((g) => g.settled === null).map((g) => g.summary);
  }

  /** A game's ticks so far (live, or settled and still retained). */
  ticksOf(gameId: string): TickSeries | undefined {
    return this.games.get(gameId)?.ticks.series();
  }

  /** The outcome of a retained settled game; null while it is live; undefined when unknown here. */
  outcomeOf(gameId: string): 0 | 1 | null | undefined {
    return this.games.get(gameId)?.settled;
  }

  /** The seq of the last message published on `signals` (after load: the store's last). */
  signalSeq(): number {
    return this.lastSeq;
  }

  /** Whether the store's signal positions have been read (load ran): before, nothing is published from the store. */
  loaded(): boolean {
    return this.signalsEpoch !== undefined;
  }

  /** The ticks of a game published here so far (0 when unknown here). */
  tickCount(gameId: string): number {
    return this.games.get(gameId)?.ticks.count ?? 0;
  }

  knownStrategies(): StrategyJson[] {
    return [...this.strategies.values()];
  }

  /** After an ingest commit: the ticks in the order stored (and so per game in t order). */
  ticksCommitted(ticks: readonly CommittedTick[], at: Date): void {
    const byGame = new Map<string, CommittedTick[]>();
    for (const t of ticks) {
      let list = byGame.get(t.game_id);
      if (!list) byGame.set(t.game_id, (list = []));
      list.push(t);
    }
    const { hub } = this.deps;
    for (const [id, list] of byGame) {
      let g = this.games.get(id);
      if (!g || g.settled !== null) {
        // A new live game (or one of a retained settled id, which the store has just re-opened: never, as settled ids refuse ticks).
        g = { summary: { game_id: id, ticks: 0, started_at: at.toISOString(), t: 0, price: 0, fair: 0 }, ticks: new TickBuffer(), uptoBySeq: [0], settled: null };
        this.games.set(id, g);
      }
      const from = g.ticks.count;
      for (const t of list) g.ticks.push(t.t, t.price, t.fair);
      const last = list[list.length - 1];
      g.summary = { ...g.summary, ticks: g.ticks.count, t: last.t, price: last.price, fair: last.fair };
      const triples = g.ticks.triples(from, g.ticks.count);
      hub.emit(liveGameTopic(id), { type: "ticks", game_id: id, ticks: triples, upto: g.ticks.count }, { merge });
      this.tell({ kind: "ticks", game_id: id, ticks: triples, total: g.ticks.count, started_at: g.summary.started_at });
    }
    hub.set(LIVE_TOPIC, this.liveState());
  }

  /** After a commit: each stored signal, in id order, on `signals` and its strategy's topic, numbered as stored. */
  signalsCommitted(signals: readonly Signal[], seqs: readonly TopicSeq[]): void {
    const { hub } = this.deps;
    signals.forEach((s, i) => {
      const event = { type: "signal", signal: s };
      const n = seqs[i];
      this.lastSeq = Math.max(this.lastSeq, n.seq);
      this.lastStrategySeq.set(s.strategy_id, Math.max(this.lastStrategySeq.get(s.strategy_id) ?? 0, n.strategySeq));
      hub.emit(SIGNALS_TOPIC, event, { seq: n.seq });
      hub.emit(strategySignalsTopic(s.strategy_id), event, { seq: n.strategySeq });
    });
    if (signals.length > 0) this.tell({ kind: "signals", signals: [...signals] });
  }

  /** After a settlement commit: the game's last message, and it leaves `live`. */
  settled(gameId: string, outcome: 0 | 1): void {
    const g = this.games.get(gameId);
    if (g) {
      g.settled = outcome;
      this.settledOrder.push(gameId);
      while (this.settledOrder.length > this.retainSettled) {
        const old = this.settledOrder.shift()!;
        if (this.games.get(old)?.settled !== null) this.games.delete(old);
      }
    }
    this.deps.hub.emit(liveGameTopic(gameId), { type: "settled", game_id: gameId, outcome }, { terminal: true });
    this.deps.hub.set(LIVE_TOPIC, this.liveState());
    this.tell({ kind: "settled", game_id: gameId, outcome });
  }

  /** A strategy deployed or stopped: its topic exists from now on. */
  strategyChanged(strategy: StrategyJson): void {
    this.strategies.set(strategy.id, strategy);
    this.tell({ kind: "strategy", strategy });
  }

  /** Which live topics exist: `live`, `signals`, a known game's and a known strategy's. */
  resolve(topic: string): Resolution | undefined {
    if (topic === LIVE_TOPIC) return { ok: true, initial: this.liveState() };
    if (topic === SIGNALS_TOPIC) return { ok: true, events: true, epoch: this.signalsEpoch, seq: this.lastSeq };
    if (topic.startsWith(GAME_PREFIX)) {
      return this.games.has(topic.slice(GAME_PREFIX.length)) ? { ok: true, events: true } : { ok: false, reason: "unknown live game" };
    }
    if (topic.startsWith(STRATEGY_PREFIX)) {
      const id = this.strategyOfTopic(topic);
      return id !== undefined
        ? { ok: true, events: true, epoch: this.signalsEpoch, seq: this.lastStrategySeq.get(id) ?? 0 }
        : { ok: false, reason: "unknown strategy" };
    }
    return undefined;
  }

  /**
   * What a new subscriber of an event topic gets first, as of message `seq` of its tier's copy:
   * for `live:{game}` the game's ticks up to that message in one `ticks` message; nothing for signals.
   */
  eventSnapshot(topic: string, seq: number): State | undefined {
    if (!topic.startsWith(GAME_PREFIX)) return undefined;
    const id = topic.slice(GAME_PREFIX.length);
    const g = this.games.get(id);
    if (!g) return undefined;
    const upto = g.uptoBySeq[seq] ?? (seq === 0 ? g.uptoBySeq[0] ?? 0 : g.ticks.count);
    return { type: "ticks", game_id: id, ticks: g.ticks.triples(0, upto), upto };
  }

  private liveState(): State {
    return { type: "live", games: this.liveGames().map((g) => ({ game_id: g.game_id, ticks: g.ticks, t: g.t, price: g.price, fair: g.fair })) };
  }

  private tell(change: LiveChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (error) {
        this.deps.logger?.error("live change listener failed", { kind: change.kind, error });
      }
    }
  }
}
