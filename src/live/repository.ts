// The live store's reads and the pieces ingest and settlement share: the signal as the API shows
// it, the one lock every live write holds, active strategies, per-(strategy, game) state and
// the catch-up of a strategy that first meets a game after some of its ticks arrived.
import { and, asc, desc, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import type { Database, Db } from "../db/database";
import { liveGames, liveTicks, signals, strategies, strategyGames } from "../db/schema";
import { freshState, step, type SignalDraft, type StrategyParams, type StrategyState, type Tick } from "./evaluator";

/** A signal as stored and shown (live.md "Signals"). */
export interface Signal extends SignalDraft {
  id: number;
  strategy_id: number;
  game_id: string;
  /** ISO time it was emitted (the ingest's `now`). */
  at: string;
}

export interface LiveGameSummary {
  game_id: string;
  ticks: number;
  started_at: string;
  /** The last tick. */
  t: number;
  price: number;
  fair: number;
}

export interface ActiveStrategy extends StrategyParams {
  id: number;
}

/** A strategy's state on one game, and the seq of the last tick it has evaluated (-1: none). */
export interface GameState extends StrategyState {
  lastSeq: number;
}

// Every live write of one database runs under this, one at a time: two requests on one game
// must not interleave their checks of the last t and their appends. In-process is enough while
// one daemon owns a store (PGlite's data dir lock; one daemon per PostgreSQL for live data).
// Daemons sharing a PostgreSQL would add pg_advisory_xact_lock(LIVE_LOCK_KEY) in the transaction.
const locks = new WeakMap<object, Promise<unknown>>();

export function withLiveLock<T>(database: Database, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(database) ?? Promise.resolve();
  const run = previous.then(work, work);
  locks.set(database, run.catch(() => {}));
  return run;
}

/**
 * The live games, oldest first. With `notAfter` (a starter identity's view, live.md "Tiers"):
 * only games started by then, each as of its last tick received by then.
 */
export async function listLiveGames(database: Database, notAfter?: Date): Promise<LiveGameSummary[]> {
  if (notAfter === undefined) {
    const rows = await database.db.select().from(liveGames).where(isNull(liveGames.settledAt))
      .orderBy(asc(liveGames.startedAt), asc(sql`${liveGames.id} collate "C"`));
    return rows.map((g) => ({
      game_id: g.id, ticks: g.tickCount, started_at: g.startedAt.toISOString(), t: g.lastT, price: g.lastPrice, fair: g.lastFair,
    }));
  }
  // Ticks arrive in seq order, so those received by the cut-off are seq 0..n-1 and the last is seq n-1.
  const rows = await database.db.selectDistinctOn([liveGames.startedAt, liveGames.id], {
    id: liveGames.id, startedAt: liveGames.startedAt, seq: liveTicks.seq, t: liveTicks.t, price: liveTicks.price, fair: liveTicks.fair,
  }).from(liveGames).innerJoin(liveTicks, eq(liveTicks.gameId, liveGames.id))
    .where(and(isNull(liveGames.settledAt), lte(liveGames.startedAt, notAfter), lte(liveTicks.receivedAt, notAfter)))
    .orderBy(asc(liveGames.startedAt), asc(liveGames.id), desc(liveTicks.seq));
  return rows.map((r) => ({ game_id: r.id, ticks: r.seq + 1, started_at: r.startedAt.toISOString(), t: r.t, price: r.price, fair: r.fair }));
}

export async function activeStrategies(tx: Db): Promise<ActiveStrategy[]> {
  return tx.select({ id: strategies.id, entry: strategies.entry, exit: strategies.exit, fee: strategies.fee })
    .from(strategies).where(eq(strategies.status, "active")).orderBy(asc(strategies.id));
}

const key = (strategyId: number, gameId: string) => `${strategyId}\u0000${gameId}`;

/** The stored states of these strategies on these games, keyed by key(strategy, game). */
export async function loadStates(tx: Db, strategyIds: number[], gameIds: string[]): Promise<Map<string, GameState>> {
  const states = new Map<string, GameState>();
  if (strategyIds.length === 0) return states;
  for (let i = 0; i < gameIds.length; i += 5000) {
    const rows = await tx.select().from(strategyGames)
      .where(and(inArray(strategyGames.gameId, gameIds.slice(i, i + 5000)), inArray(strategyGames.strategyId, strategyIds)));
    for (const r of rows) {
      states.set(key(r.strategyId, r.gameId), { pos: r.pos, ep: r.ep, pnl: r.pnl, trades: r.trades, wins: r.wins, lastSeq: r.lastSeq });
    }
  }
  return states;
}

export { key as stateKey };

export async function saveStates(tx: Db, states: Map<string, GameState>, touched: Iterable<string>): Promise<void> {
  const rows: (typeof strategyGames.$inferInsert)[] = [];
  for (const k of touched) {
    const s = states.get(k)!;
    const sep = k.indexOf("\u0000");
    rows.push({ strategyId: Number(k.slice(0, sep)), gameId: k.slice(sep + 1), pos: s.pos, ep: s.ep, pnl: s.pnl, trades: s.trades, wins: s.wins, lastSeq: s.lastSeq });
  }
  for (let i = 0; i < rows.length; i += 1000) {
    await tx.insert(strategyGames).values(rows.slice(i, i + 1000)).onConflictDoUpdate({
      target: [strategyGames.strategyId, strategyGames.gameId],
      set: {
        pos: sql`excluded.pos`, ep: sql`excluded.ep`, pnl: sql`excluded.pnl`, trades: sql`excluded.trades`,
        wins: sql`excluded.wins`, lastSeq: sql`excluded.last_seq`,
      },
    });
  }
}

/** A game's stored ticks with seq in [from, to), in seq order. */
export async function storedTicks(tx: Db, gameId: string, from: number, to: number): Promise<Tick[]> {
  if (to <= from) return [];
  return tx.select({ t: liveTicks.t, price: liveTicks.price, fair: liveTicks.fair }).from(liveTicks)
    .where(and(eq(liveTicks.gameId, gameId), sql`${liveTicks.seq} >= ${from}`, sql`${liveTicks.seq} < ${to}`))
    .orderBy(asc(liveTicks.seq));
}

export interface PendingSignal extends SignalDraft {
  strategyId: number;
  gameId: string;
}

/**
 * Brings every strategy without state on `gameId` up to seq `upTo` (exclusive) by running it over
 * the ticks stored so far: a strategy deployed mid-game then gets strategy.md on the whole game.
 * This reads the game once per (strategy, game), the first time they meet, never per tick.
 */
export async function catchUp(
  tx: Db, gameId: string, upTo: number, strategiesNow: ActiveStrategy[], states: Map<string, GameState>,
  touched: Set<string>, out: PendingSignal[],
): Promise<void> {
  const missing = strategiesNow.filter((s) => !states.has(key(s.id, gameId)));
  if (missing.length === 0) return;
  const ticks = await storedTicks(tx, gameId, 0, upTo);
  for (const s of missing) {
    const state: GameState = { ...freshState(), lastSeq: -1 };
    for (let seq = 0; seq < ticks.length; seq++) {
      const draft = step(state, s, ticks[seq]);
      if (draft) out.push({ ...draft, strategyId: s.id, gameId });
      state.lastSeq = seq;
    }
    states.set(key(s.id, gameId), state);
    touched.add(key(s.id, gameId));
  }
}

/** A signal's numbers on its topics: `seq` on `signals`, `strategySeq` on `signals:{strategy_id}`. */
export interface TopicSeq {
  seq: number;
  strategySeq: number;
}

export interface InsertedSignals {
  signals: Signal[];
  /** Per signal, in the same order. */
  seqs: TopicSeq[];
}

/**
 * Stores the signals in order (ids increase in that order) and returns them as the API shows them,
 * with their topic numbers: each one more than the last stored (the live lock makes that safe).
 */
export async function insertSignals(tx: Db, pending: PendingSignal[], now: Date): Promise<InsertedSignals> {
  const out: InsertedSignals = { signals: [], seqs: [] };
  if (pending.length === 0) return out;
  const at = now.toISOString();
  const [top] = await tx.select({ seq: sql<number>`coalesce(max(${signals.seq}), 0)`.mapWith(Number) }).from(signals);
  let seq = top.seq;
  const ids = [...new Set(pending.map((p) => p.strategyId))];
  const perStrategy = new Map<number, number>(ids.map((id) => [id, 0]));
  const tops = await tx.select({ id: signals.strategyId, seq: sql<number>`max(${signals.strategySeq})`.mapWith(Number) })
    .from(signals).where(inArray(signals.strategyId, ids)).groupBy(signals.strategyId);
  for (const r of tops) perStrategy.set(r.id, r.seq);
  for (let i = 0; i < pending.length; i += 1000) {
    const part = pending.slice(i, i + 1000);
    const seqs = part.map((p) => {
      const strategySeq = perStrategy.get(p.strategyId)! + 1;
      perStrategy.set(p.strategyId, strategySeq);
      return { seq: ++seq, strategySeq };
    });
    const rows = await tx.insert(signals).values(part.map((p, j) => ({
      strategyId: p.strategyId, gameId: p.gameId, action: p.action, t: p.t, price: p.price, fair: p.fair, edge: p.edge, pnl: p.pnl, at: now,
      seq: seqs[j].seq, strategySeq: seqs[j].strategySeq,
    }))).returning({ id: signals.id, seq: signals.seq });
    // RETURNING follows the VALUES order for a plain multi-row insert; matching on seq makes that explicit.
    const idOf = new Map(rows.map((r) => [Number(r.seq), Number(r.id)]));
    part.forEach((p, j) => {
      out.signals.push({
        id: idOf.get(seqs[j].seq)!, strategy_id: p.strategyId, game_id: p.gameId, action: p.action, t: p.t, price: p.price, fair: p.fair, edge: p.edge, pnl: p.pnl, at,
      });
      out.seqs.push(seqs[j]);
    });
  }
  return out;
}
