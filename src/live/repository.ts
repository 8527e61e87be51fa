// The live store's reads and the pieces ingest and settlement share: the one lock every live
// write holds, active strategies, per-(strategy, game) state and the catch-up of a strategy that first meets a game after some of its ticks arrived.
import { and, asc, desc, eq, gt, isNull, lt, lte, sql, type SQL } from "drizzle-orm";
import { numbers, texts } from "../db/arrays";
import { rowsOf, type Database, type Db } from "../db/database";
import { liveGames, liveTickChunks } from "../db/schema";
import { unpackFloat64 } from "../games/packed";
import { freshState, step, type StrategyParams, type StrategyState, type Tick } from "./evaluator";
import type { PendingSignal } from "./signals";

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
// must not interleave their checks of the last t and their appends, nor two transactions number
// signals from the same last seq. In-process for this daemon's writes (and the order they are
// published in); across daemons sharing a PostgreSQL (cluster.md), each live write transaction
// also takes storeLiveLock as its first statement.
const locks = new WeakMap<object, Promise<unknown>>();

/** The cluster's live lock: held until the transaction ends, so live writes of every node run one at a time. */
const LIVE_LOCK_KEY = 0x67726c76; // "grlv"

/**
 * Takes the cluster's live lock in this transaction; sent before the transaction's reads (pipelined
 * statements run in order, so it costs no round trip of its own). PGlite has one writer anyway.
 */
export async function storeLiveLock(tx: Db): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${LIVE_LOCK_KEY})`);
}

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
  // Ticks arrive in seq order, a chunk per request, so those received by the cut-off are the
  // chunks up to the last received by then, and the game's last tick is that chunk's last.
  const c = liveTickChunks;
  const last = (col: typeof c.t | typeof c.price | typeof c.fair) => sql<Uint8Array>`substring(${col} from ${c.count} * 8 - 7 for 8)`.mapWith(c.t);
  const rows = await database.db.selectDistinctOn([liveGames.startedAt, liveGames.id], {
    id: liveGames.id, startedAt: liveGames.startedAt, firstSeq: c.firstSeq, count: c.count, t: last(c.t), price: last(c.price), fair: last(c.fair),
  }).from(liveGames).innerJoin(c, eq(c.gameId, liveGames.id))
    .where(and(isNull(liveGames.settledAt), lte(liveGames.startedAt, notAfter), lte(c.receivedAt, notAfter)))
    .orderBy(asc(liveGames.startedAt), asc(liveGames.id), desc(c.firstSeq));
  return rows.map((r) => ({
    game_id: r.id, ticks: r.firstSeq + r.count, started_at: r.startedAt.toISOString(),
    t: unpackFloat64(r.t)[0], price: unpackFloat64(r.price)[0], fair: unpackFloat64(r.fair)[0],
  }));
}

/** Ticks as stored: the columns of consecutive seqs. */
export interface TickColumns {
  t: Float64Array;
  price: Float64Array;
  fair: Float64Array;
}

/** The chunks of `gameId` that hold a seq in [from, to), in seq order (all of them without bounds). */
export async function tickChunks(tx: Db, gameId: string, from = 0, to = 2 ** 31 - 1): Promise<({ firstSeq: number } & TickColumns)[]> {
  const c = liveTickChunks;
  const rows = await tx.select({ firstSeq: c.firstSeq, t: c.t, price: c.price, fair: c.fair }).from(c)
    .where(and(eq(c.gameId, gameId), lt(c.firstSeq, to), gt(sql`${c.firstSeq} + ${c.count}`, from))).orderBy(asc(c.firstSeq));
  return rows.map((r) => ({ firstSeq: r.firstSeq, t: unpackFloat64(r.t), price: unpackFloat64(r.price), fair: unpackFloat64(r.fair) }));
}

/** Ticks [from, to) of a game as columns, from its chunks. */
export async function storedColumns(tx: Db, gameId: string, from = 0, to?: number): Promise<TickColumns> {
  const chunks = await tickChunks(tx, gameId, from, to);
  const top = chunks.length === 0 ? from : chunks[chunks.length - 1].firstSeq + chunks[chunks.length - 1].t.length;
  const end = Math.min(to ?? top, top);
  const n = Math.max(0, end - from);
  const out: TickColumns = { t: new Float64Array(n), price: new Float64Array(n), fair: new Float64Array(n) };
  for (const ch of chunks) {
    const lo = Math.max(from, ch.firstSeq), hi = Math.min(end, ch.firstSeq + ch.t.length);
    for (const k of ["t", "price", "fair"] as const) out[k].set(ch[k].subarray(lo - ch.firstSeq, hi - ch.firstSeq), lo - from);
  }
  return out;
}

// The live write path is raw SQL with a parameter per column (db/arrays.ts): building drizzle's
// multi-row inserts and their thousands of parameters was most of an ingest request's time.
// Nothing is cached across requests: each reads what the store holds, under the live lock.

/** Raw SQL in a transaction, rows as plain objects on either driver. */
export async function query<T>(tx: Db, statement: SQL): Promise<T[]> {
  return rowsOf<T>(await tx.execute(statement));
}

/** Rows per statement: one array literal per column stays a few MB at most (ids are <= 200 characters). */
export const SLICE = 5000;

export async function activeStrategies(tx: Db): Promise<ActiveStrategy[]> {
  const rows = await query<ActiveStrategy>(tx, sql`select id, entry, exit, fee from strategies where status = 'active' order by id`);
  return rows.map((r) => ({ id: Number(r.id), entry: Number(r.entry), exit: Number(r.exit), fee: Number(r.fee) }));
}

const key = (strategyId: number, gameId: string) => `${strategyId}\u0000${gameId}`;

/** The stored states of these strategies (undefined: every strategy's) on these games, keyed by key(strategy, game). */
export async function loadStates(tx: Db, strategyIds: number[] | undefined, gameIds: string[]): Promise<Map<string, GameState>> {
  const states = new Map<string, GameState>();
  if (strategyIds?.length === 0) return states;
  const ofStrategies = strategyIds ? sql`and strategy_id = any(${numbers(strategyIds)}::int[])` : sql``;
  for (let i = 0; i < gameIds.length; i += SLICE) {
    // One JSON text, not a row each: parsing hundreds of rows' columns was most of this read's
    // time. PostgreSQL prints a float8 exactly (shortest round-trip form, -0 included).
    const [row] = await query<{ states: string }>(tx, sql`
      select coalesce(json_agg(json_build_array(strategy_id, game_id, pos, ep, pnl, trades, wins, last_seq)), '[]')::text as states
      from strategy_games where game_id = any(${texts(gameIds, i, i + SLICE)}::text[]) ${ofStrategies}`);
    for (const [strategyId, gameId, pos, ep, pnl, trades, wins, lastSeq] of JSON.parse(row.states) as [number, string, number, number, number, number, number, number][]) {
      states.set(key(strategyId, gameId), { pos, ep, pnl, trades, wins, lastSeq });
    }
  }
  return states;
}

export { key as stateKey };

export async function saveStates(tx: Db, states: Map<string, GameState>, touched: Iterable<string>): Promise<void> {
  const strategyIds: number[] = [], gameIds: string[] = [], pos: number[] = [], ep: number[] = [], pnl: number[] = [];
  const trades: number[] = [], wins: number[] = [], lastSeq: number[] = [];
  for (const k of touched) {
    const s = states.get(k)!;
    const sep = k.indexOf("\u0000");
    strategyIds.push(Number(k.slice(0, sep)));
    gameIds.push(k.slice(sep + 1));
    pos.push(s.pos); ep.push(s.ep); pnl.push(s.pnl); trades.push(s.trades); wins.push(s.wins); lastSeq.push(s.lastSeq);
  }
  for (let i = 0; i < gameIds.length; i += SLICE) {
    const n = (a: number[]) => numbers(a, i, i + SLICE);
    await tx.execute(sql`
      insert into strategy_games (strategy_id, game_id, pos, ep, pnl, trades, wins, last_seq)
      select * from unnest(${n(strategyIds)}::int[], ${texts(gameIds, i, i + SLICE)}::text[], ${n(pos)}::smallint[], ${n(ep)}::float8[],
        ${n(pnl)}::float8[], ${n(trades)}::int[], ${n(wins)}::int[], ${n(lastSeq)}::int[])
      on conflict (strategy_id, game_id) do update set pos = excluded.pos, ep = excluded.ep, pnl = excluded.pnl,
        trades = excluded.trades, wins = excluded.wins, last_seq = excluded.last_seq`);
  }
}

/** A game's stored ticks with seq in [from, to), in seq order. */
export async function storedTicks(tx: Db, gameId: string, from: number, to: number): Promise<Tick[]> {
  if (to <= from) return [];
  const { t, price, fair } = await storedColumns(tx, gameId, from, to);
  return Array.from(t, (v, i) => ({ t: v, price: price[i], fair: fair[i] }));
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
