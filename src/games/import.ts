// Imports one games file, all or nothing, in one transaction. Rows stream from the parser and are
// grouped into per-game chunks; past a memory budget the chunks spill to a temporary staging table,
// so memory stays bounded whatever the file size. Then each game's chunks are merged, sorted by
// t, checked for duplicate t, and stored as one packed row.
import { sql, type SQL } from "drizzle-orm";
import type { Database, Db } from "../db/database";
import { games, gameTicks, meta } from "../db/schema";
import { packFloat64, packUint32, unpackFloat64, unpackUint32 } from "./packed";
import { ImportError, parseGames, type GameFormat, type RowBatch } from "./parse";

export interface ImportLimits {
  maxBytes: number;
  maxGames: number;
  maxTicksPerGame: number;
}

export interface ImportOptions {
  format: GameFormat;
  limits: ImportLimits;
  /** Demo data is labelled synthetic wherever it appears. */
  synthetic?: boolean;
  /** Expected size in bytes (0 when unknown), reported as progress total. */
  totalBytes?: number;
  onProgress?: (progress: { current: number; total: number }) => void;
  /** Ticks held in memory before chunks spill to the staging table (default 2M, ~56 MB). */
  memoryTicks?: number;
}

export interface ImportResult {
  games: number;
  ticks: number;
}

/** Ticks merged (and stored) per group: enough to keep round trips few, small enough for memory. */
const MERGE_TICK_BUDGET = 2_000_000;
/** Rows per multi-row INSERT (each has 8 parameters; PostgreSQL allows 65535). */
const INSERT_ROWS = 1000;

export async function importGames(database: Database, chunks: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, options: ImportOptions): Promise<ImportResult> {
  return database.db.transaction(async (txn) => {
    const tx = txn as unknown as Db;
    const run = (q: SQL) => database.rows(q, tx);
    const memoryTicks = options.memoryTicks ?? 2_000_000;
    const counts = new Map<string, number>();
    const outcomes = new Map<string, number>();
    let pending = new Map<string, Chunk[]>();
    let pendingTicks = 0;
    let spilled = false;
    let seq = 0;
    const spill = async () => {
      if (!spilled) {
        await run(sql`create temp table import_chunks (seq integer not null, game_id text not null,
          t bytea not null, price bytea not null, fair bytea not null, line bytea not null) on commit drop`);
        spilled = true;
      }
      const rows: SQL[] = [];
      for (const [id, list] of pending) {
        for (const c of list) rows.push(sql`(${seq++}, ${id}, ${packFloat64(c.t)}, ${packFloat64(c.price)}, ${packFloat64(c.fair)}, ${packUint32(c.line)})`);
      }
      for (let i = 0; i < rows.length; i += INSERT_ROWS) {
        await run(sql`insert into import_chunks (seq, game_id, t, price, fair, line) values ${sql.join(rows.slice(i, i + INSERT_ROWS), sql`, `)}`);
      }
      pending = new Map();
      pendingTicks = 0;
    };

    let parseError: ImportError | undefined;
    const total = options.totalBytes ?? 0;
    try {
      const rows = parseGames(chunks, {
        format: options.format,
        maxBytes: options.limits.maxBytes,
        maxGames: options.limits.maxGames,
        maxTicksPerGame: options.limits.maxTicksPerGame,
        onBytes: options.onProgress && ((bytes) => options.onProgress!({ current: bytes, total: Math.max(total, bytes) })),
      });
      for await (const batch of rows) {
        pendingTicks += groupBatch(batch, pending, counts, outcomes);
        if (pendingTicks >= memoryTicks) await spill();
      }
    } catch (err) {
      if (!(err instanceof ImportError)) throw err;
      parseError = err;
    }
    if (spilled) await spill();
    // A duplicate t earlier in the file than a row error is the first bad line: check what was read.
    const source: ChunkSource = spilled ? stagedChunks(run, counts) : memoryChunks(pending);
    const dup = await mergeGames(source, tx, outcomes, parseError ? "check" : "store", options.synthetic ?? false, parseError?.line);
    if (dup && (!parseError || dup.line < parseError.line)) throw dup;
    if (parseError) throw parseError;
    await tx.insert(meta).values({ key: "data_version", value: crypto.randomUUID() })
      .onConflictDoUpdate({ target: meta.key, set: { value: sql`excluded.value` } });
    let ticks = 0;
    for (const n of counts.values()) ticks += n;
    return { games: counts.size, ticks };
  });
}

interface Chunk { t: Float64Array; price: Float64Array; fair: Float64Array; line: Uint32Array }
/** Yields groups of whole games (id and all its chunks), a bounded number of ticks at a time. */
type ChunkSource = AsyncIterable<[string, Chunk[]][]>;

async function* memoryChunks(pending: Map<string, Chunk[]>): ChunkSource {
  let group: [string, Chunk[]][] = [];
  let ticks = 0;
  for (const entry of pending) {
    group.push(entry);
    ticks += entry[1].reduce((n, c) => n + c.t.length, 0);
    if (ticks >= MERGE_TICK_BUDGET) {
      yield group;
      group = [];
      ticks = 0;
    }
  }
  if (group.length) yield group;
}

interface StagedRow { game_id: string; t: Uint8Array; price: Uint8Array; fair: Uint8Array; line: Uint8Array }

async function* stagedChunks(run: (q: SQL) => Promise<unknown[]>, counts: Map<string, number>): ChunkSource {
  const ids = [...counts.keys()];
  for (let start = 0; start < ids.length;) {
    let budget = 0, end = start;
    while (end < ids.length && (end === start || budget + counts.get(ids[end])! <= MERGE_TICK_BUDGET)) budget += counts.get(ids[end++])!;
    const group = ids.slice(start, end);
    start = end;
    const rows = (await run(sql`select game_id, t, price, fair, line from import_chunks
      where game_id in (${sql.join(group.map((id) => sql`${id}`), sql`, `)}) order by game_id, seq`)) as StagedRow[];
    const byGame = new Map<string, Chunk[]>();
    for (const r of rows) {
      let list = byGame.get(r.game_id);
      if (!list) byGame.set(r.game_id, (list = []));
      list.push({ t: unpackFloat64(r.t), price: unpackFloat64(r.price), fair: unpackFloat64(r.fair), line: unpackUint32(r.line) });
    }
    yield [...byGame];
  }
}

/** Groups a batch's rows by game into one chunk per game; returns the ticks added. */
function groupBatch(batch: RowBatch, pending: Map<string, Chunk[]>, counts: Map<string, number>, outcomes: Map<string, number>): number {
  const byGame = new Map<string, number[]>();
  for (let i = 0; i < batch.length; i++) {
    const id = batch.gameIds[i];
    let list = byGame.get(id);
    if (!list) byGame.set(id, (list = []));
    list.push(i);
  }
  for (const [id, idx] of byGame) {
    const n = idx.length;
    const t = new Float64Array(n), price = new Float64Array(n), fair = new Float64Array(n), line = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      t[k] = batch.t[i];
      price[k] = batch.price[i];
      fair[k] = batch.fair[i];
      line[k] = batch.line[i];
    }
    counts.set(id, (counts.get(id) ?? 0) + n);
    outcomes.set(id, batch.outcome[idx[0]]);
    let list = pending.get(id);
    if (!list) pending.set(id, (list = []));
    list.push({ t, price, fair, line });
  }
  return batch.length;
}

/**
 * Merges each game's staged chunks in groups, sorts by t and finds duplicate t (the later line of
 * the two is the bad one). In "store" mode it replaces the stored games; returns the duplicate
 * with the smallest line, if any, so the caller reports the first bad line of the file.
 */
async function mergeGames(
  source: ChunkSource, tx: Db, outcomes: Map<string, number>, mode: "check" | "store", synthetic: boolean, beforeLine = Infinity,
): Promise<ImportError | undefined> {
  let first: ImportError | undefined;
  for await (const group of source) {
    const merged: { id: string; t: Float64Array; price: Float64Array; fair: Float64Array }[] = [];
    for (const [id, chunks] of group) {
      const game = sortGame(id, chunks);
      if (game.dupLine !== undefined && game.dupLine < beforeLine && (!first || game.dupLine < first.line)) {
        first = new ImportError(game.dupLine, `duplicate t ${game.dupT} in game ${JSON.stringify(id)}`);
      }
      if (mode === "store" && !first) merged.push(game);
    }
    if (mode === "store" && !first && merged.length > 0) await storeGames(tx, merged, outcomes, synthetic);
  }
  return first;
}

function sortGame(id: string, parts: Chunk[]) {
  const n = parts.reduce((s, p) => s + p.t.length, 0);
  const t = new Float64Array(n), price = new Float64Array(n), fair = new Float64Array(n), line = new Uint32Array(n);
  let o = 0;
  for (const p of parts) {
    t.set(p.t, o); price.set(p.price, o); fair.set(p.fair, o); line.set(p.line, o);
    o += p.t.length;
  }
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (!(t[i - 1] < t[i])) sorted = false;
  if (sorted) return { id, t, price, fair, dupLine: undefined as number | undefined, dupT: 0 };
  // Ties in t are ordered by line, so the second of a duplicate pair is the later line.
  const order = new Uint32Array(n).map((_, i) => i).sort((a, b) => t[a] - t[b] || line[a] - line[b]);
  const st = new Float64Array(n), sp = new Float64Array(n), sf = new Float64Array(n);
  let dupLine: number | undefined, dupT = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    st[k] = t[i]; sp[k] = price[i]; sf[k] = fair[i];
    if (k > 0 && st[k] === st[k - 1] && (dupLine === undefined || line[i] < dupLine)) {
      dupLine = line[i];
      dupT = st[k];
    }
  }
  return { id, t: st, price: sp, fair: sf, dupLine, dupT };
}

async function storeGames(tx: Db, merged: { id: string; t: Float64Array; price: Float64Array; fair: Float64Array }[], outcomes: Map<string, number>, synthetic: boolean) {
  const ids = merged.map((g) => g.id);
  // Replacing a game: the delete cascades to its ticks, then the new version goes in.
  await tx.delete(games).where(sql`${games.id} in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`);
  const now = new Date();
  for (let i = 0; i < merged.length; i += INSERT_ROWS) {
    const part = merged.slice(i, i + INSERT_ROWS);
    await tx.insert(games).values(part.map((g) => ({
      id: g.id, firstT: g.t[0], tickCount: g.t.length, outcome: outcomes.get(g.id)!, synthetic, importedAt: now,
    })));
    // Ticks rows are large: insert a few at a time so one statement stays a reasonable size.
    for (let j = 0; j < part.length; j += 50) {
      await tx.insert(gameTicks).values(part.slice(j, j + 50).map((g) => ({
        gameId: g.id, t: packFloat64(g.t), price: packFloat64(g.price), fair: packFloat64(g.fair),
      })));
    }
  }
}
