// The live topics across nodes (cluster.md "Topics cross nodes"): a commit on one node is
// published on its own hub (the feed) and told to the others on the bus as a small delta (a game
// and its tick count, the last signal seq, a settlement, a strategy id); a node that hears one
// reads what it lacks from the store and publishes it on its hub through the same feed. Each
// node publishes in store order, once: it keeps where it stands (the feed's last signal seq and
// each game's tick count), a local commit that finds a gap before it fills the gap from the store
// first, and everything here runs under the node's live lock (repository.ts withLiveLock), the
// one that orders its own commits and their publication. After the bus's LISTEN came back, the
// node re-reads from where it stands.
import { eq, inArray, isNull, and, isNotNull } from "drizzle-orm";
import type { BusMessage, ClusterBus } from "../cluster/bus";
import type { Database } from "../db/database";
import { gameTicks, liveGames } from "../db/schema";
import { unpackFloat64 } from "../games/packed";
import type { Logger } from "../log/logger";
import type { CommittedTick, LiveFeed } from "./feed";
import { storedColumns, withLiveLock, type TickColumns } from "./repository";
import type { LivePublisher } from "./service";
import { readSignals, type Signal, type TopicSeq } from "./signals";
import { getStrategy, listStrategies, strategyJson, type StrategyJson } from "./strategies";

/** Signals read per statement while catching up. */
const SIGNAL_PAGE = 1000;
/** A commit touching more games than this tells the others "re-read the live games", not each game. */
const GAMES_PER_COMMIT = 100;
/** Longest game id a message may name (ids are at most 200 characters: src/games/ids.ts). */
const GAME_ID_MAX = 256;

export interface LiveBridgeDeps {
  feed: LiveFeed;
  bus: ClusterBus;
  database: () => Database;
  logger: Logger;
}

export interface LiveBridge extends LivePublisher {
  /** Publishes what the store holds beyond where this node stands (after load, and after a resync). */
  sync(): Promise<void>;
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isGameId = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= GAME_ID_MAX;

export function createLiveBridge(deps: LiveBridgeDeps): LiveBridge {
  const { feed, bus, logger: log } = deps;

  /** Unknown strategies of these signals, read and made known first (their topics resolve then). */
  const ensureStrategies = async (database: Database, signals: Signal[]) => {
    const known = new Set(feed.knownStrategies().map((s) => s.id));
    for (const id of new Set(signals.map((s) => s.strategy_id))) {
      if (known.has(id)) continue;
      const row = await getStrategy(database, id);
      if (row) feed.strategyChanged(strategyJson(row));
    }
  };

  /** Publishes the stored signals after this node's last, up to seq `upto` (all without). */
  const catchUpSignals = async (database: Database, upto?: number) => {
    for (;;) {
      const after = feed.signalSeq();
      if (upto !== undefined && after >= upto) return;
      const rows = await readSignals(database.db, "seq", after, {}, SIGNAL_PAGE);
      const take = upto === undefined ? rows : rows.filter((r) => r.seq <= upto);
      if (take.length === 0) return;
      await ensureStrategies(database, take.map((r) => r.signal));
      feed.signalsCommitted(take.map((r) => r.signal), take.map((r) => ({ seq: r.seq, strategySeq: r.strategySeq })));
      if (rows.length < SIGNAL_PAGE) return;
    }
  };

  /** Ticks [from, to) of a game settled in the store: its chunks are gone, game_ticks holds them. */
  const settledColumns = async (database: Database, gameId: string, from: number, to: number): Promise<TickColumns> => {
    const [row] = await database.db.select().from(gameTicks).where(eq(gameTicks.gameId, gameId));
    const cut = (b: Uint8Array | undefined) => (b ? unpackFloat64(b).slice(from, to) : new Float64Array(0));
    return { t: cut(row?.t), price: cut(row?.price), fair: cut(row?.fair) };
  };

  /**
   * Publishes a game's stored ticks after the ones published here, up to seq `upto` (exclusive;
   * all without). A game settled in the store is caught up only while it is live here: one this
   * node never showed is over, not news.
   */
  const catchUpGame = async (database: Database, gameId: string, upto?: number) => {
    const [row] = await database.db.select({ tickCount: liveGames.tickCount, startedAt: liveGames.startedAt, settledAt: liveGames.settledAt })
      .from(liveGames).where(eq(liveGames.id, gameId));
    if (!row) return;
    const settled = row.settledAt !== null;
    if (settled && feed.outcomeOf(gameId) !== null) return;
    const have = feed.tickCount(gameId);
    const end = Math.min(upto ?? row.tickCount, row.tickCount);
    if (end <= have) return;
    let cols = settled ? await settledColumns(database, gameId, have, end) : await storedColumns(database.db, gameId, have, end);
    // Settled between the two reads: the chunks went to game_ticks in that commit.
    if (cols.t.length < end - have) cols = await settledColumns(database, gameId, have, end);
    const ticks: CommittedTick[] = Array.from(cols.t, (t, i) => ({ game_id: gameId, t, price: cols.price[i], fair: cols.fair[i], seq: have + i }));
    if (ticks.length > 0) feed.ticksCommitted(ticks, row.startedAt);
  };

  const settleHere = async (database: Database, gameId: string, outcome: 0 | 1) => {
    if (feed.outcomeOf(gameId) !== null) return; // unknown here (never shown), or settled already
    await catchUpGame(database, gameId);
    feed.settled(gameId, outcome);
  };

  const refreshStrategy = async (database: Database, id: number) => {
    const row = await getStrategy(database, id);
    if (row) feed.strategyChanged(strategyJson(row));
  };

  /** Everything: the signals, each live game's ticks, settlements missed, strategies changed. */
  const syncAll = async (database: Database) => {
    await catchUpSignals(database);
    const live = await database.db.select({ id: liveGames.id, tickCount: liveGames.tickCount }).from(liveGames).where(isNull(liveGames.settledAt));
    for (const g of live) if (g.tickCount > feed.tickCount(g.id)) await catchUpGame(database, g.id);
    const liveHere = feed.liveGames().map((g) => g.game_id);
    if (liveHere.length > 0) {
      const ended = await database.db.select({ id: liveGames.id, outcome: liveGames.outcome }).from(liveGames)
        .where(and(inArray(liveGames.id, liveHere), isNotNull(liveGames.settledAt)));
      for (const g of ended) if (g.outcome === 0 || g.outcome === 1) await settleHere(database, g.id, g.outcome);
    }
    const known = new Map(feed.knownStrategies().map((s) => [s.id, JSON.stringify(s)]));
    for (const row of await listStrategies(database)) {
      const json = strategyJson(row);
      if (known.get(json.id) !== JSON.stringify(json)) feed.strategyChanged(json);
    }
  };

  /** Work on what another node said, in the order heard, under this node's live lock. */
  const schedule = (what: string, work: (database: Database) => Promise<void>) => {
    if (!feed.loaded()) return; // load reads the store after the bus started, and sync() follows it
    let database: Database;
    try {
      database = deps.database();
    } catch {
      return; // closing: nothing to publish to
    }
    withLiveLock(database, () => work(database)).catch((err) => {
      log.warn(`could not publish ${what} another node stored; the next message or resync reads it again`, { error: err as Error });
    });
  };

  // Several messages of one kind may be queued behind the lock: the first that runs reads
  // everything, the rest find nothing to do without a query.
  bus.on("signals", (m: BusMessage) => {
    if (!isCount(m.seq) || m.seq <= feed.signalSeq()) return;
    schedule("signals", (database) => catchUpSignals(database));
  });
  bus.on("ticks", (m: BusMessage) => {
    if (m.all === true) return schedule("live games", syncAll);
    if (!isGameId(m.game) || !isCount(m.n)) return;
    const gameId = m.game;
    if (m.n <= feed.tickCount(gameId)) return;
    schedule("ticks", (database) => catchUpGame(database, gameId));
  });
  bus.on("settled", (m: BusMessage) => {
    if (!isGameId(m.game) || (m.outcome !== 0 && m.outcome !== 1)) return;
    const gameId = m.game, outcome = m.outcome;
    schedule("a settlement", (database) => settleHere(database, gameId, outcome));
  });
  bus.on("strategy", (m: BusMessage) => {
    if (!isCount(m.id) || m.id === 0) return;
    const id = m.id;
    schedule("a strategy", (database) => refreshStrategy(database, id));
  });
  bus.onResync(() => schedule("what was missed while not listening", syncAll));

  // This node's commits: called by the ingest and settlement after their commit, under the live
  // lock already (so never take it here).
  return {
    async ticks(ticks, at) {
      const first = new Map<string, number>();
      for (const t of ticks) if (!first.has(t.game_id)) first.set(t.game_id, t.seq ?? feed.tickCount(t.game_id));
      const database = deps.database();
      // Ticks other nodes stored before these and this node has not shown yet go first.
      for (const [gameId, seq] of first) if (feed.tickCount(gameId) < seq) await catchUpGame(database, gameId, seq);
      const fresh = ticks.filter((t) => t.seq === undefined || t.seq >= feed.tickCount(t.game_id));
      if (fresh.length > 0) feed.ticksCommitted(fresh, at);
      if (first.size > GAMES_PER_COMMIT) bus.send({ t: "ticks", all: true }, "ticks:*");
      else for (const gameId of first.keys()) bus.send({ t: "ticks", game: gameId, n: feed.tickCount(gameId) }, `ticks:${gameId}`);
    },
    async signals(signals: Signal[], seqs: TopicSeq[]) {
      if (signals.length === 0) return;
      if (seqs[0].seq > feed.signalSeq() + 1) await catchUpSignals(deps.database(), seqs[0].seq - 1);
      const keep = seqs.map((s, i) => i).filter((i) => seqs[i].seq > feed.signalSeq());
      if (keep.length > 0) feed.signalsCommitted(keep.map((i) => signals[i]), keep.map((i) => seqs[i]));
      const last = signals.length - 1;
      bus.send({ t: "signals", seq: seqs[last].seq, id: signals[last].id, n: signals.length }, "signals");
    },
    async settled(gameId, outcome) {
      // Its last ticks may have come by another node: shown before the settlement, as there.
      if (feed.outcomeOf(gameId) === null) await catchUpGame(deps.database(), gameId);
      feed.settled(gameId, outcome);
      bus.send({ t: "settled", game: gameId, outcome });
    },
    strategy(strategy: StrategyJson) {
      feed.strategyChanged(strategy);
      bus.send({ t: "strategy", id: strategy.id }, `strategy:${strategy.id}`);
    },
    async sync() {
      const database = deps.database();
      await withLiveLock(database, () => syncAll(database)).catch((err) => {
        log.warn("could not read what other nodes stored while this one started; the next message reads it", { error: err as Error });
      });
    },
  };
}
