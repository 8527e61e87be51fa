// The one ingest path of live.md: the HTTP route, the replay feed and the CLI all hand their
// ticks to ingestTicks. A request is all or nothing, in one transaction: the games it starts,
// its ticks, the strategies' new state and the signals the ticks caused are stored together, so
// an acknowledged tick is never lost and a restart resumes each strategy exactly after the last
// tick it evaluated. Each tick costs one step per active strategy, never a re-run of the game.
import { sql } from "drizzle-orm";
import { numbers, packedText, texts } from "../db/arrays";
import type { Database, Db } from "../db/database";
import { ImportError, checkGameId, gameIdText, toNumber, toProbability } from "../games/parse";
import type { Logger } from "../log/logger";
import { step } from "./evaluator";
import type { CommittedTick } from "./feed";
import {
  STATES_TEXT, SLICE, activeStrategies, addStates, catchUp, query, saveStates, stateChanges, stateKey, storeLiveLock, withLiveLock, type ActiveStrategy, type GameState,
} from "./repository";
import { insertSignals, nextSignalNumbers, type PendingSignal, type SignalNumbers, type Signal, type TopicSeq } from "./signals";

/** A tick as it arrives: checked here, whatever door it came by. */
export interface TickInput {
  game_id: unknown;
  t: unknown;
  price: unknown;
  fair: unknown;
}

export interface IngestResult {
  ticks: number;
  games: number;
  signals: Signal[];
  /** Each signal's numbers on its topics, in the same order. */
  seqs: TopicSeq[];
}

/** What is told of a commit: the ticks as stored (in request order) and the signals they caused. */
export interface CommitHooks {
  /** Called after the commit with the stored ticks (the publisher), before their signals. */
  onTicks?: (ticks: CommittedTick[], at: Date) => unknown;
  /** Called after the commit with the stored signals and their topic numbers (the publisher). */
  onSignals?: (signals: Signal[], seqs: TopicSeq[]) => unknown;
  /** Called after a settlement's commit and its signals: the game has left the live set. */
  onSettled?: (gameId: string, outcome: 0 | 1) => unknown;
}

export interface IngestOptions extends CommitHooks {
  log?: Logger;
  /** The line (1-based) each tick came from, for the error; default: its index + 1. */
  lines?: ArrayLike<number>;
}

/** Most distinct games in one request (413 above): a request is one transaction. */
export const MAX_GAMES_PER_REQUEST = 10_000;
/** Most ticks in one request (413 above). */
export const MAX_TICKS_PER_REQUEST = 1_000_000;

/** Broadcast callbacks that threw since start: a publisher's failure never fails an ingest. */
export const publishFailures = { count: 0 };

/**
 * Hands a commit to the publisher: after the commit (a signal is stored before it is published),
 * still under the live lock (so commits are published in commit order), and a throw is logged and
 * counted, never passed on (live.md "Signals"). The one publish step of ingest and settlement.
 */
export async function publishCommitted(
  committed: { ticks?: CommittedTick[]; signals: Signal[]; seqs: TopicSeq[]; settled?: { gameId: string; outcome: 0 | 1 }; at: Date },
  options: CommitHooks & { log?: Logger }, what: string,
): Promise<void> {
  const { ticks, signals, settled } = committed;
  const steps: [string, () => unknown][] = [];
  if (options.onTicks && ticks && ticks.length > 0) steps.push(["ticks", () => options.onTicks!(ticks, committed.at)]);
  if (options.onSignals && signals.length > 0) steps.push(["signals", () => options.onSignals!(signals, committed.seqs)]);
  if (options.onSettled && settled) steps.push(["settlement", () => options.onSettled!(settled.gameId, settled.outcome)]);
  for (const [kind, run] of steps) {
    try {
      await run();
    } catch (err) {
      publishFailures.count++;
      options.log?.error(`publishing ${what} ${kind} failed; they are stored`, { error: String(err), ticks: committed.ticks?.length ?? 0, signals: committed.signals.length });
    }
  }
}

interface ValidTick {
  gameId: string;
  t: number;
  price: number;
  fair: number;
  line: number;
}

const FIELDS = ["game_id", "t", "price", "fair"] as const;

/** One tick checked by the import's rules (parse.ts), with the import's `line L: reason` errors. */
export function validateTick(raw: unknown, line: number, knownIds?: Set<string>): ValidTick {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new ImportError(line, "expected a JSON object");
  const r = raw as Record<string, unknown>;
  for (const f of FIELDS) if (r[f] === undefined) throw new ImportError(line, `missing key "${f}"`);
  const gameId = gameIdText(r.game_id, line);
  if (!knownIds?.has(gameId)) checkGameId(gameId, line);
  return { gameId, t: toNumber("t", r.t, line), price: toProbability("price", r.price, line), fair: toProbability("fair", r.fair, line), line };
}

/**
 * Checks every tick, then stores them and their signals in one transaction. The first bad tick
 * (in line order, whether its fault is its own fields, an earlier tick of the request or the
 * stored game) is an ImportError `line L: reason` and nothing of the request is applied.
 */
export async function ingestTicks(database: Database, ticks: readonly TickInput[], now = new Date(), options: IngestOptions = {}): Promise<IngestResult> {
  const lineOf = (i: number) => (options.lines ? options.lines[i] : i + 1);
  if (ticks.length === 0) throw new ImportError(1, "no ticks");
  if (ticks.length > MAX_TICKS_PER_REQUEST) throw new ImportError(lineOf(MAX_TICKS_PER_REQUEST), `more than ${MAX_TICKS_PER_REQUEST} ticks in one request`, "too_large");
  // Fields first, outside the lock. A field error is held back until the ticks before it have
  // been checked against the store too: the first bad line is what gets reported.
  const valid: ValidTick[] = [];
  const ids = new Set<string>();
  let fieldError: ImportError | undefined;
  for (let i = 0; i < ticks.length; i++) {
    try {
      const v = validateTick(ticks[i], lineOf(i), ids);
      if (!ids.has(v.gameId)) {
        if (ids.size >= MAX_GAMES_PER_REQUEST) throw new ImportError(v.line, `more than ${MAX_GAMES_PER_REQUEST} games in one request`, "too_large");
        ids.add(v.gameId);
      }
      valid.push(v);
    } catch (err) {
      if (!(err instanceof ImportError)) throw err;
      fieldError = err;
      break;
    }
  }
  return withLiveLock(database, async () => {
    const result = await database.db.transaction(async (txn) => {
      const tx = txn as unknown as Db;
      // Every read the request needs goes out at once (one round trip, not four), and then every
      // write at once: on a busy machine each round trip to the server costs milliseconds.
      const gameIds = [...ids];
      const states = new Map<string, GameState>();
      const [, games, active, numbering] = await Promise.all([
        storeLiveLock(tx), loadGames(tx, gameIds, states), activeStrategies(tx), nextSignalNumbers(tx),
      ]);
      checkOrder(valid, games);
      if (fieldError) throw fieldError;
      return store(tx, valid, games, { active, states, numbering }, now);
    });
    const ticks = options.onTicks ? result.committed.map((r) => ({ game_id: r.gameId, t: r.t, price: r.price, fair: r.fair, seq: r.seq })) : undefined;
    await publishCommitted({ ticks, signals: result.signals, seqs: result.seqs, at: now }, options, "live");
    const { committed: _, ...out } = result;
    return out;
  });
}

/** What the strategies' evaluation reads before it runs. */
interface StrategyReads {
  active: ActiveStrategy[];
  states: Map<string, GameState>;
  numbering: SignalNumbers;
}

interface GameRow {
  /** Ticks stored before this request: the seq of its first new tick. */
  stored: number;
  lastT: number;
  settled: boolean;
  /** Filled while checking: this request's ticks of the game and its last one. */
  added: number;
  last?: ValidTick;
  first?: ValidTick;
}

/** The games' rows, and every strategy's state on them into `states` (loadStates, in the same read). */
async function loadGames(tx: Db, ids: string[], states: Map<string, GameState>): Promise<Map<string, GameRow>> {
  const out = new Map<string, GameRow>();
  for (let i = 0; i < ids.length; i += SLICE) {
    const rows = await query<{ id: string; n: number; last_t: number; settled: boolean; states: string | null }>(tx, sql`
      select g.id, g.tick_count as n, g.last_t, g.settled_at is not null as settled, ${STATES_TEXT} as states
      from live_games g left join game_states s on s.game_id = g.id where g.id = any(${texts(ids, i, i + SLICE)}::text[])`);
    for (const r of rows) {
      out.set(r.id, { stored: Number(r.n), lastT: Number(r.last_t), settled: r.settled === true, added: 0 });
      addStates(states, r.id, r.states);
    }
  }
  for (const id of ids) if (!out.has(id)) out.set(id, { stored: 0, lastT: -Infinity, settled: false, added: 0 });
  return out;
}

/** t strictly after the game's last tick (stored or earlier in this request); no settled game. */
function checkOrder(valid: ValidTick[], games: Map<string, GameRow>): void {
  for (const v of valid) {
    const g = games.get(v.gameId)!;
    if (g.settled) throw new ImportError(v.line, `game ${JSON.stringify(v.gameId)} is settled; it takes no more ticks`);
    const lastT = g.last ? g.last.t : g.lastT;
    if (!(v.t > lastT)) throw new ImportError(v.line, `t ${v.t} is not after the game's last tick (t ${lastT})`);
    g.first ??= v;
    g.last = v;
    g.added++;
  }
}

/**
 * The games' rows (new ones start now, known ones move their last tick) and this request's ticks
 * as one chunk per game (schema.ts liveTickChunks), packed as game_ticks: one statement, the games
 * spread once for both.
 */
async function storeGames(tx: Db, tickRows: { gameId: string; t: number; price: number; fair: number }[], games: Map<string, GameRow>, at: string): Promise<void> {
  const cols = new Map<string, { n: number; t: Float64Array; price: Float64Array; fair: Float64Array }>();
  for (const [id, g] of games) cols.set(id, { n: 0, t: new Float64Array(g.added), price: new Float64Array(g.added), fair: new Float64Array(g.added) });
  for (const r of tickRows) {
    const c = cols.get(r.gameId)!;
    c.t[c.n] = r.t; c.price[c.n] = r.price; c.fair[c.n] = r.fair; c.n++;
  }
  // Bytes travel as base64 text (decode() on the server): the same SQL on postgres.js and PGlite.
  const ids = [...games.keys()];
  for (let i = 0; i < ids.length; i += SLICE) {
    const part = ids.slice(i, i + SLICE);
    const of = (f: (g: GameRow) => number) => numbers(part.map((id) => f(games.get(id)!)));
    const col = (f: (c: { n: number; t: Float64Array; price: Float64Array; fair: Float64Array }) => Float64Array) => texts(part.map((id) => packedText(f(cols.get(id)!))));
    await tx.execute(sql`
      with u as (select * from unnest(${texts(part)}::text[], ${of((g) => g.stored)}::int[], ${of((g) => g.added)}::int[],
          ${of((g) => g.last!.t)}::float8[], ${of((g) => g.last!.price)}::float8[], ${of((g) => g.last!.fair)}::float8[],
          ${col((c) => c.t)}::text[], ${col((c) => c.price)}::text[], ${col((c) => c.fair)}::text[])
        as u(id, stored, n, last_t, last_price, last_fair, t, price, fair)),
      g as (insert into live_games (id, started_at, tick_count, last_t, last_price, last_fair)
        select u.id, ${at}::timestamptz, u.stored + u.n, u.last_t, u.last_price, u.last_fair from u
        on conflict (id) do update set tick_count = excluded.tick_count, last_t = excluded.last_t,
          last_price = excluded.last_price, last_fair = excluded.last_fair)
      insert into live_tick_chunks (game_id, first_seq, count, t, price, fair, received_at)
      select u.id, u.stored, u.n, decode(u.t, 'base64'), decode(u.price, 'base64'), decode(u.fair, 'base64'), ${at}::timestamptz from u`);
  }
}

async function store(tx: Db, valid: ValidTick[], games: Map<string, GameRow>, reads: StrategyReads, now: Date): Promise<IngestResult & { committed: TickRow[] }> {
  const at = now.toISOString();
  const next = new Map<string, number>();
  const tickRows = valid.map((v) => {
    const seq = next.get(v.gameId) ?? games.get(v.gameId)!.stored;
    next.set(v.gameId, seq + 1);
    return { gameId: v.gameId, seq, t: v.t, price: v.price, fair: v.fair };
  });
  const { active, states, numbering } = reads;
  const changes = stateChanges();
  const pending: PendingSignal[] = [];
  if (active.length > 0) {
    // Per game, its states in `active` order: a tick then costs one step per strategy, no lookups.
    const row = new Map<string, GameState[]>();
    for (const id of games.keys()) {
      // Ticks that arrived before a strategy met this game: evaluated once, now, in order.
      await catchUp(tx, id, games.get(id)!.stored, active, states, changes, pending);
      row.set(id, active.map((s) => {
        const k = stateKey(s.id, id);
        changes.touched.add(k);
        return states.get(k)!;
      }));
    }
    for (const r of tickRows) {
      const of = row.get(r.gameId)!;
      for (let j = 0; j < active.length; j++) {
        const state = of[j];
        // A state ahead of this tick cannot happen under the lock; the guard keeps a signal unrepeated regardless.
        if (state.lastSeq >= r.seq) continue;
        const s = active[j];
        const draft = step(state, s, r);
        if (draft) pending.push({ ...draft, strategyId: s.id, gameId: r.gameId });
        state.lastSeq = r.seq;
      }
    }
  }
  // None of these writes reads or writes what another does (no foreign keys between them), so
  // they go out together.
  const [, , inserted] = await Promise.all([
    storeGames(tx, tickRows, games, at), saveStates(tx, states, changes, pending), insertSignals(tx, pending, now, numbering),
  ]);
  return { ticks: valid.length, games: games.size, ...inserted, committed: tickRows };
}

/** A tick as stored: its game and its number in it. */
interface TickRow { gameId: string; seq: number; t: number; price: number; fair: number }
