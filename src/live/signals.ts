// Signals in the store (live.md "Signals"), the one module that knows how they are laid out: as
// runs (schema.ts signalRuns), the signals one transaction gave one strategy, each field an array
// over the run and the numbers consecutive from the run's first. Written by ingest and settlement
// in their transaction; read by the API's pages (id cursor, strategy, game, a starter's cut-off),
// by the topics' recovery (seq or strategy_seq cursor) and by the live pages.
import { and, asc, desc, eq, gt, inArray, lte, or, sql, type SQL } from "drizzle-orm";
import { numbers, packedText, texts } from "../db/arrays";
import { rowsOf, type Database, type Db } from "../db/database";
import { SIGNAL_ACTIONS, signalRuns } from "../db/schema";
import { unpackFloat64, unpackUint16 } from "../games/packed";
import type { SignalDraft } from "./evaluator";
import { ACTIVE } from "./repository";

/** A signal as stored and shown (live.md "Signals"), the API's and the topics' JSON. */
export interface Signal extends SignalDraft {
  id: number;
  strategy_id: number;
  game_id: string;
  /** ISO time it was emitted (the ingest's `now`). */
  at: string;
}

export type SignalJson = Signal;

/** A signal to store: what a step drafted, and whose it is. */
export interface PendingSignal extends SignalDraft {
  strategyId: number;
  gameId: string;
}

/** A signal's numbers on its topics: `seq` on `signals`, `strategySeq` on `signals:{strategy_id}`. */
export interface TopicSeq {
  seq: number;
  strategySeq: number;
}

export interface InsertedSignals {
  /** In id order, which is the order they are published in. */
  signals: Signal[];
  /** Per signal, in the same order. */
  seqs: TopicSeq[];
}

/** A stored signal with its topic numbers. */
export interface StoredSignal extends TopicSeq {
  signal: Signal;
}

/** Most signals in one run (so a game index fits a uint16), and in one insert statement: array parameters stay a few MB at most. */
const RUN_MAX = 5000;
const STATEMENT_MAX = 20_000;

/** Where numbering goes on from: the last id and seq stored, and each strategy's last strategy_seq. */
export interface SignalNumbers {
  lastId: number;
  lastSeq: number;
  perStrategy: Map<number, number>;
}

/**
 * The numbers the next signals of these strategies (undefined: the active ones) go on from. Each
 * is one step down an index, however many signals are stored. A read, so ingest sends it with its
 * other reads before evaluating; the live lock keeps it true until the commit.
 */
export async function nextSignalNumbers(tx: Db, strategyIds?: number[]): Promise<SignalNumbers> {
  const from = strategyIds ? sql`unnest(${numbers(strategyIds)}::int[]) as s(id)` : sql`(select id from strategies where status = ${ACTIVE}) as s`;
  const rows = rowsOf<{ strategy_id: unknown; top: unknown; last_id: unknown; last_seq: unknown }>(await tx.execute(sql`
    with last as (select
      (select r.first_id + r.count - 1 from signal_runs r order by r.first_id desc limit 1) as last_id,
      (select r.first_seq + r.count - 1 from signal_runs r order by r.first_seq desc limit 1) as last_seq)
    select s.id as strategy_id, last.last_id, last.last_seq,
      (select r.first_strategy_seq + r.count - 1 from signal_runs r where r.strategy_id = s.id order by r.first_strategy_seq desc limit 1) as top
    from last left join ${from} on true`));
  return {
    lastId: Number(rows[0]?.last_id ?? 0),
    lastSeq: Number(rows[0]?.last_seq ?? 0),
    perStrategy: new Map(rows.filter((r) => r.strategy_id !== null).map((r) => [Number(r.strategy_id), Number(r.top ?? 0)])),
  };
}

/**
 * Stores the signals and returns them as the API shows them, with their topic numbers, each one
 * more than the last stored: from `numbers` (read in this transaction under the live lock) or
 * read now. Within a transaction they are numbered strategy by strategy (ascending id), each
 * strategy's in `pending` order, so that one strategy's signals of the transaction are one run;
 * every strategy's signals on a game keep their order, and ids, seqs and each strategy's seqs
 * all increase together.
 */
export async function insertSignals(tx: Db, pending: PendingSignal[], now: Date, numbering?: SignalNumbers): Promise<InsertedSignals> {
  const out: InsertedSignals = { signals: [], seqs: [] };
  if (pending.length === 0) return out;
  const at = now.toISOString();
  const byStrategy = new Map<number, PendingSignal[]>();
  for (const p of pending) {
    const list = byStrategy.get(p.strategyId);
    if (list) list.push(p);
    else byStrategy.set(p.strategyId, [p]);
  }
  const strategyIds = [...byStrategy.keys()].sort((a, b) => a - b);
  const known = numbering ?? await nextSignalNumbers(tx, strategyIds);
  let id = known.lastId;
  let seq = known.lastSeq;
  const perStrategy = new Map(strategyIds.map((sid) => [sid, known.perStrategy.get(sid) ?? 0]));
  interface Run { firstId: number; firstSeq: number; strategyId: number; firstStrategySeq: number; signals: PendingSignal[] }
  const runs: Run[] = [];
  for (const strategyId of strategyIds) {
    const list = byStrategy.get(strategyId)!;
    for (let i = 0; i < list.length; i += RUN_MAX) {
      const part = list.slice(i, i + RUN_MAX);
      const strategySeq = perStrategy.get(strategyId)!;
      runs.push({ firstId: id + 1, firstSeq: seq + 1, strategyId, firstStrategySeq: strategySeq + 1, signals: part });
      id += part.length; seq += part.length;
      perStrategy.set(strategyId, strategySeq + part.length);
      part.forEach((p, j) => {
        out.signals.push({
          id: runs[runs.length - 1].firstId + j, strategy_id: strategyId, game_id: p.gameId, action: p.action,
          t: p.t, price: p.price, fair: p.fair, edge: p.edge, pnl: p.pnl, at,
        });
        out.seqs.push({ seq: runs[runs.length - 1].firstSeq + j, strategySeq: strategySeq + 1 + j });
      });
    }
  }
  for (let i = 0; i < runs.length;) {
    const batch: Run[] = [];
    let n = 0;
    while (i < runs.length && (batch.length === 0 || n + runs[i].signals.length <= STATEMENT_MAX)) {
      n += runs[i].signals.length;
      batch.push(runs[i++]);
    }
    // A run's field travels as one value (an array literal of its games, packed bytes as base64
    // for the rest), and the runs' values as one text[]: a statement has a parameter per column,
    // whatever the number of runs and signals.
    const packed = batch.map(packRun);
    await tx.execute(sql`
      insert into signal_runs (first_id, first_seq, strategy_id, first_strategy_seq, count, at, game_ids, game_index, action_codes, numbers)
      select u.first_id, u.first_seq, u.strategy_id, u.first_strategy_seq, u.n, ${at}::timestamptz, u.game_ids::text[],
        decode(u.game_index, 'base64'), decode(u.actions, 'base64'), decode(u.numbers, 'base64')
      from unnest(${numbers(batch.map((r) => r.firstId))}::bigint[], ${numbers(batch.map((r) => r.firstSeq))}::bigint[],
        ${numbers(batch.map((r) => r.strategyId))}::int[], ${numbers(batch.map((r) => r.firstStrategySeq))}::int[],
        ${numbers(batch.map((r) => r.signals.length))}::int[], ${texts(packed.map((p) => p.games))}::text[],
        ${texts(packed.map((p) => p.index))}::text[], ${texts(packed.map((p) => p.actions))}::text[], ${texts(packed.map((p) => p.numbers))}::text[])
        as u(first_id, first_seq, strategy_id, first_strategy_seq, n, game_ids, game_index, actions, numbers)`);
  }
  return out;
}

const ACTION_CODE = new Map<string, number>(SIGNAL_ACTIONS.map((a, i) => [a, i]));

/** A run's columns as schema.ts signalRuns lays them out: its games once each, then per signal a game index, an action byte and four numbers. */
function packRun(run: { signals: PendingSignal[] }): { games: string; index: string; actions: string; numbers: string } {
  const list = run.signals;
  const n = list.length;
  const games = new Map<string, number>();
  const index = new Uint16Array(n);
  const actions = new Uint8Array(n);
  const values = new Float64Array(4 * n);
  for (let j = 0; j < n; j++) {
    const p = list[j];
    let g = games.get(p.gameId);
    if (g === undefined) games.set(p.gameId, (g = games.size));
    index[j] = g;
    actions[j] = ACTION_CODE.get(p.action)!;
    values[j] = p.t;
    values[n + j] = p.price;
    values[2 * n + j] = p.fair;
    values[3 * n + j] = p.pnl ?? NaN;
  }
  return { games: texts([...games.keys()]), index: packedText(index), actions: packedText(actions), numbers: packedText(values) };
}

type RunRow = typeof signalRuns.$inferSelect;

/** A run's signals, in id order. */
function expand(r: RunRow): StoredSignal[] {
  const at = r.at.toISOString();
  const n = r.count;
  const values = unpackFloat64(r.numbers);
  const index = r.gameIndex ? unpackUint16(r.gameIndex) : undefined;
  return Array.from({ length: n }, (_, j) => {
    const price = values[n + j], fair = values[2 * n + j], pnl = values[3 * n + j];
    return {
      seq: r.firstSeq + j,
      strategySeq: r.firstStrategySeq + j,
      signal: {
        id: r.firstId + j, strategy_id: r.strategyId, game_id: r.gameIds[index ? index[j] : j], action: SIGNAL_ACTIONS[r.actions[j]],
        t: values[j], price, fair, edge: fair - price, pnl: Number.isNaN(pnl) ? null : pnl, at,
      },
    };
  });
}

/** Which number a read pages on: the API's id, the `signals` topic's seq, or one strategy's seq. */
export type SignalCursor = "id" | "seq" | "strategy_seq";

export interface SignalFilter {
  strategy?: number;
  game?: string;
  /** Only signals emitted at or before this time (a starter identity's view, live.md "Tiers"). */
  notAfter?: Date;
}

const CURSOR_COLUMN = { id: signalRuns.firstId, seq: signalRuns.firstSeq, strategy_seq: signalRuns.firstStrategySeq } as const;
const cursorOf = (s: StoredSignal, by: SignalCursor) => (by === "id" ? s.signal.id : by === "seq" ? s.seq : s.strategySeq);
/** Runs read per statement while a page fills. */
const RUN_PAGE = 200;

/**
 * Up to `limit` stored signals with their `by` number above `after`, in that order (which is id
 * order), matching the filter. A strategy_seq cursor needs `filter.strategy`.
 */
export async function readSignals(db: Db, by: SignalCursor, after: number, filter: SignalFilter, limit: number): Promise<StoredSignal[]> {
  if (by === "strategy_seq" && filter.strategy === undefined) throw new Error("a strategy_seq cursor needs a strategy");
  const col = CURSOR_COLUMN[by];
  const where: SQL[] = [];
  if (filter.strategy !== undefined) where.push(eq(signalRuns.strategyId, filter.strategy));
  if (filter.game !== undefined) where.push(sql`${signalRuns.gameIds} @> array[${filter.game}::text]`);
  if (filter.notAfter !== undefined) where.push(lte(signalRuns.at, filter.notAfter));
  const out: StoredSignal[] = [];
  let cursor = after;
  for (let first = true; out.length < limit; first = false) {
    // The run that holds `cursor` may hold later signals too: the first read starts at it.
    const straddle = sql`${col} = (select max(${col}) from ${signalRuns} where ${col} <= ${cursor}${filter.strategy !== undefined ? sql` and ${signalRuns.strategyId} = ${filter.strategy}` : sql``})`;
    const rows = await db.select().from(signalRuns).where(and(first ? or(gt(col, cursor), straddle) : gt(col, cursor), ...where))
      .orderBy(asc(col)).limit(RUN_PAGE);
    for (const r of rows) {
      for (const s of expand(r)) {
        if (cursorOf(s, by) <= after || (filter.game !== undefined && s.signal.game_id !== filter.game)) continue;
        out.push(s);
        if (out.length === limit) return out;
      }
    }
    if (rows.length < RUN_PAGE) break;
    const last = rows[rows.length - 1];
    cursor = (by === "id" ? last.firstId : by === "seq" ? last.firstSeq : last.firstStrategySeq) + last.count - 1;
  }
  return out;
}

export interface SignalQuery extends SignalFilter {
  /** Only ids above this one: the cursor a client pages on (the last id it has). */
  after?: number;
  limit: number;
}

export const SIGNALS_PAGE = { def: 100, min: 1, max: 1000 } as const;

/** GET /api/signals: a page in id order. */
export async function listSignals(database: Database, q: SignalQuery): Promise<Signal[]> {
  return (await readSignals(database.db, "id", q.after ?? 0, q, q.limit)).map((s) => s.signal);
}

/** The `n` latest signals, newest first. */
export async function latestSignals(db: Db, n: number): Promise<Signal[]> {
  if (n <= 0) return [];
  // Every run holds at least one signal, so the n latest runs hold the n latest signals.
  const rows = await db.select().from(signalRuns).orderBy(desc(signalRuns.firstId)).limit(n);
  return rows.flatMap(expand).map((s) => s.signal).sort((a, b) => b.id - a.id).slice(0, n);
}

/** Every signal on these games, in id order. */
export async function signalsOfGames(db: Db, gameIds: string[]): Promise<Signal[]> {
  if (gameIds.length === 0) return [];
  const wanted = new Set(gameIds);
  const rows = await db.select().from(signalRuns).where(sql`${signalRuns.gameIds} && ${texts(gameIds)}::text[]`).orderBy(asc(signalRuns.firstId));
  return rows.flatMap(expand).map((s) => s.signal).filter((s) => wanted.has(s.game_id));
}

/** Where the topics stand in the store: the last seq, and each strategy's last strategy_seq. */
export async function signalPositions(db: Db): Promise<{ seq: number; perStrategy: Map<number, number> }> {
  const [top] = await db.select({ seq: sql<number>`${signalRuns.firstSeq} + ${signalRuns.count} - 1`.mapWith(Number) })
    .from(signalRuns).orderBy(desc(signalRuns.firstSeq)).limit(1);
  const per = await db.selectDistinctOn([signalRuns.strategyId], {
    id: signalRuns.strategyId, seq: sql<number>`${signalRuns.firstStrategySeq} + ${signalRuns.count} - 1`.mapWith(Number),
  }).from(signalRuns).orderBy(asc(signalRuns.strategyId), desc(signalRuns.firstStrategySeq));
  return { seq: top?.seq ?? 0, perStrategy: new Map(per.map((r) => [r.id, r.seq])) };
}

/** Every stored signal of these strategies (all without), in id order: for tests and tools. */
export async function allSignals(database: Database, strategyIds?: number[]): Promise<Signal[]> {
  const rows = await database.db.select().from(signalRuns)
    .where(strategyIds ? inArray(signalRuns.strategyId, strategyIds) : undefined).orderBy(asc(signalRuns.firstId));
  return rows.flatMap(expand).map((s) => s.signal);
}
