// The live store's reads and the pieces ingest and settlement share: the one lock every live
// write holds, active strategies, the strategies' states (a row per game) and totals, and the catch-up of a strategy that first meets a game after some of its ticks arrived.
import { and, asc, desc, eq, gt, isNull, lt, lte, sql, type SQL } from "drizzle-orm";
import { numbers, packedText, texts } from "../db/arrays";
import { rowsOf, type Database, type Db } from "../db/database";
import { STATE_FIELDS, liveGames, liveTickChunks } from "../db/schema";
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

/**
 * The status as a parameter, not a literal: a statement with parameters is prepared on
 * PostgreSQL (db/postgres.ts), so the server plans it once per connection, not on every ingest.
 */
export const ACTIVE = "active";

export async function activeStrategies(tx: Db): Promise<ActiveStrategy[]> {
  const rows = await query<ActiveStrategy>(tx, sql`select id, entry, exit, fee from strategies where status = ${ACTIVE} order by id`);
  return rows.map((r) => ({ id: Number(r.id), entry: Number(r.entry), exit: Number(r.exit), fee: Number(r.fee) }));
}

const key = (strategyId: number, gameId: string) => `${strategyId}\u0000${gameId}`;

export { key as stateKey };

/** What a live write changes besides its states: which (strategy, game) states it moved, and which of them it created. */
export interface StateChanges {
  touched: Set<string>;
  created: Set<string>;
}

export const stateChanges = (): StateChanges => ({ touched: new Set(), created: new Set() });

const FIELDS = STATE_FIELDS.length;

/** Every stored strategy state on these games (stopped strategies' too: a game's row holds them all), keyed by key(strategy, game). */
export async function loadStates(tx: Db, gameIds: string[]): Promise<Map<string, GameState>> {
  const states = new Map<string, GameState>();
  for (let i = 0; i < gameIds.length; i += SLICE) {
    const rows = await query<{ game_id: string; states: string }>(tx, sql`
      select game_id, ${STATES_TEXT} as states from game_states where game_id = any(${texts(gameIds, i, i + SLICE)}::text[])`);
    for (const r of rows) addStates(states, r.game_id, r.states);
  }
  return states;
}

/** game_states.states as text in a select: base64, read the same on either driver (addStates). */
export const STATES_TEXT = sql.raw("encode(states, 'base64')");

/** A game's row of states (as STATES_TEXT selects it; null: none stored) into `states`. */
export function addStates(states: Map<string, GameState>, gameId: string, text: string | null): void {
  if (text === null) return;
  const b = Buffer.from(text, "base64");
  const v = unpackFloat64(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  for (let o = 0; o < v.length; o += FIELDS) {
    states.set(key(v[o], gameId), { pos: v[o + 1], ep: v[o + 2], pnl: v[o + 3], trades: v[o + 4], wins: v[o + 5], lastSeq: v[o + 6] });
  }
}

/**
 * Stores the row of every game with a touched state (`states` holds every state of those games,
 * as loadStates gave them), and moves each strategy's totals by what this write did: the trades
 * its close and settle signals record, the positions its signals open and close, the states it
 * created. In the same transaction as the signals, so the totals are always the signals' sums.
 */
export async function saveStates(tx: Db, states: Map<string, GameState>, changes: StateChanges, signals: readonly PendingSignal[]): Promise<void> {
  const games = new Set<string>();
  for (const k of changes.touched) games.add(k.slice(k.indexOf("\u0000") + 1));
  const byGame = new Map<string, [number, GameState][]>();
  for (const [k, s] of states) {
    const sep = k.indexOf("\u0000");
    const game = k.slice(sep + 1);
    if (!games.has(game)) continue;
    const list = byGame.get(game);
    const entry: [number, GameState] = [Number(k.slice(0, sep)), s];
    if (list) list.push(entry);
    else byGame.set(game, [entry]);
  }
  const ids = [...byGame.keys()];
  const blobs = ids.map((game) => {
    const list = byGame.get(game)!.sort((a, b) => a[0] - b[0]);
    const v = new Float64Array(list.length * FIELDS);
    list.forEach(([id, s], j) => v.set([id, s.pos, s.ep, s.pnl, s.trades, s.wins, s.lastSeq], j * FIELDS));
    return packedText(v);
  });
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < ids.length; i += SLICE) {
    writes.push(tx.execute(sql`
      insert into game_states (game_id, states)
      select u.game_id, decode(u.states, 'base64') from unnest(${texts(ids, i, i + SLICE)}::text[], ${texts(blobs, i, i + SLICE)}::text[]) as u(game_id, states)
      on conflict (game_id) do update set states = excluded.states`));
  }
  const totals = new Map<number, { pnl: number; trades: number; wins: number; games: number; open: number }>();
  const of = (id: number) => {
    let t = totals.get(id);
    if (!t) totals.set(id, (t = { pnl: 0, trades: 0, wins: 0, games: 0, open: 0 }));
    return t;
  };
  for (const k of changes.created) of(Number(k.slice(0, k.indexOf("\u0000")))).games++;
  for (const p of signals) {
    const t = of(p.strategyId);
    if (p.pnl === null) {
      t.open++;
      continue;
    }
    t.open--;
    t.trades++;
    if (p.pnl > 0) t.wins++;
    t.pnl += p.pnl;
  }
  if (totals.size > 0) {
    const sid = [...totals.keys()];
    const col = (f: (t: { pnl: number; trades: number; wins: number; games: number; open: number }) => number) => numbers(sid.map((id) => f(totals.get(id)!)));
    writes.push(tx.execute(sql`
      update strategies s set pnl = s.pnl + u.pnl, trades = s.trades + u.trades, wins = s.wins + u.wins, games = s.games + u.games,
        open_positions = s.open_positions + u.open
      from unnest(${numbers(sid)}::int[], ${col((t) => t.pnl)}::float8[], ${col((t) => t.trades)}::int[], ${col((t) => t.wins)}::int[],
        ${col((t) => t.games)}::int[], ${col((t) => t.open)}::int[]) as u(id, pnl, trades, wins, games, open)
      where s.id = u.id`));
  }
  await Promise.all(writes);
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
  changes: StateChanges, out: PendingSignal[],
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
    changes.touched.add(key(s.id, gameId));
    changes.created.add(key(s.id, gameId));
  }
}
