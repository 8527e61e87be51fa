// Imports one games file, all or nothing, in one transaction. Rows stream from the parser into a
// temporary staging table in per-game chunks (memory bounded by the batch), then each game's
// chunks are merged, sorted by t, checked for duplicate t, and stored as one packed row.
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
}

export interface ImportResult {
  games: number;
  ticks: number;
}

/** Staged chunks per query when merging: enough to keep round trips few, small enough for memory. */
const MERGE_TICK_BUDGET = 2_000_000;
/** Rows per multi-row INSERT (each has 8 parameters; PostgreSQL allows 65535). */
const INSERT_ROWS = 1000;

export async function importGames(database: Database, chunks: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, options: ImportOptions): Promise<ImportResult> {
  return database.db.transaction(async (txn) => {
    const tx = txn as unknown as Db;
    const run = (q: SQL) => database.rows(q, tx);
    await run(sql`create temp table import_chunks (seq integer not null, game_id text not null, outcome smallint not null,
      t bytea not null, price bytea not null, fair bytea not null, line bytea not null) on commit drop`);
    const counts = new Map<string, number>();
    const outcomes = new Map<string, number>();
    let seq = 0;
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
        const staged = stageBatch(batch, counts, outcomes, () => seq++);
        for (let i = 0; i < staged.length; i += INSERT_ROWS) {
          await run(sql`insert into import_chunks (seq, game_id, outcome, t, price, fair, line) values ${sql.join(staged.slice(i, i + INSERT_ROWS), sql`, `)}`);
        }
      }
    } catch (err) {
      if (!(err instanceof ImportError)) throw err;
      parseError = err;
    }
    // A duplicate t earlier in the file than a row error is the first bad line: check what was staged.
    const dup = await mergeGames(run, tx, counts, outcomes, parseError ? "check" : "store", options.synthetic ?? false, parseError?.line);
    if (dup && (!parseError || dup.line < parseError.line)) throw dup;
    if (parseError) throw parseError;
    await tx.insert(meta).values({ key: "data_version", value: crypto.randomUUID() })
      .onConflictDoUpdate({ target: meta.key, set: { value: sql`excluded.value` } });
    let ticks = 0;
    for (const n of counts.values()) ticks += n;
    return { games: counts.size, ticks };
  });
}

/** Groups a batch's rows by game into one staging row per game: packed arrays keep rows few. */
function stageBatch(batch: RowBatch, counts: Map<string, number>, outcomes: Map<string, number>, nextSeq: () => number): SQL[] {
  const byGame = new Map<string, number[]>();
  for (let i = 0; i < batch.length; i++) {
    const id = batch.gameIds[i];
    let list = byGame.get(id);
    if (!list) byGame.set(id, (list = []));
    list.push(i);
  }
  const out: SQL[] = [];
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
    out.push(sql`(${nextSeq()}, ${id}, ${batch.outcome[idx[0]]}, ${packFloat64(t)}, ${packFloat64(price)}, ${packFloat64(fair)}, ${packUint32(line)})`);
  }
  return out;
}

interface StagedRow { game_id: string; t: Uint8Array; price: Uint8Array; fair: Uint8Array; line: Uint8Array }

/**
 * Merges each game's staged chunks in groups, sorts by t and finds duplicate t (the later line of
 * the two is the bad one). In "store" mode it replaces the stored games; returns the duplicate
 * with the smallest line, if any, so the caller reports the first bad line of the file.
 */
async function mergeGames(
  run: (q: SQL) => Promise<unknown[]>, tx: Db, counts: Map<string, number>, outcomes: Map<string, number>,
  mode: "check" | "store", synthetic: boolean, beforeLine = Infinity,
): Promise<ImportError | undefined> {
  let first: ImportError | undefined;
  const ids = [...counts.keys()];
  for (let start = 0; start < ids.length;) {
    let budget = 0, end = start;
    while (end < ids.length && (end === start || budget + counts.get(ids[end])! <= MERGE_TICK_BUDGET)) budget += counts.get(ids[end++])!;
    const group = ids.slice(start, end);
    start = end;
    const rows = (await run(sql`select game_id, t, price, fair, line from import_chunks
      where game_id in (${sql.join(group.map((id) => sql`${id}`), sql`, `)}) order by game_id, seq`)) as StagedRow[];
    const merged: { id: string; t: Float64Array; price: Float64Array; fair: Float64Array }[] = [];
    for (let r = 0; r < rows.length;) {
      let e = r;
      while (e < rows.length && rows[e].game_id === rows[r].game_id) e++;
      const game = sortGame(rows.slice(r, e));
      r = e;
      if (game.dupLine !== undefined && game.dupLine < beforeLine && (!first || game.dupLine < first.line)) {
        first = new ImportError(game.dupLine, `duplicate t ${game.dupT} in game ${JSON.stringify(game.id)}`);
      }
      if (mode === "store" && !first) merged.push(game);
    }
    if (mode === "store" && !first && merged.length > 0) await storeGames(tx, merged, outcomes, synthetic);
  }
  return first;
}

function sortGame(chunks: StagedRow[]) {
  const parts = chunks.map((c) => ({ t: unpackFloat64(c.t), price: unpackFloat64(c.price), fair: unpackFloat64(c.fair), line: unpackUint32(c.line) }));
  const n = parts.reduce((s, p) => s + p.t.length, 0);
  const t = new Float64Array(n), price = new Float64Array(n), fair = new Float64Array(n), line = new Uint32Array(n);
  let o = 0;
  for (const p of parts) {
    t.set(p.t, o); price.set(p.price, o); fair.set(p.fair, o); line.set(p.line, o);
    o += p.t.length;
  }
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (!(t[i - 1] < t[i])) sorted = false;
  const id = chunks[0].game_id;
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
