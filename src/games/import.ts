// Imports one games file, all or nothing, in one transaction. Rows stream from the parser and are
// grouped into per-game chunks; past a memory budget the chunks spill to a temporary file, so
// memory stays bounded whatever the file size. Then each game's chunks are merged, sorted by t,
// checked for duplicate t, and stored as one packed row. The disk is checked before anything is
// written (src/db/disk.ts): an import that would not fit is refused with disk_full, whole.
import { sql } from "drizzle-orm";
import type { Database, Db } from "../db/database";
import { asDiskFull, importBytes, type DiskGuard } from "../db/disk";
import { games, gameTicks } from "../db/schema";
import { GC_EVERY_TICKS, GcPacer } from "../ops/memory-trim";
import { packFloat64 } from "./packed";
import { bumpDataVersion } from "./repository";
import { SpillFile, type Chunk } from "./spill";
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
  /** Ticks held in memory before chunks spill to the staging table (default 1M, ~28 MB). */
  memoryTicks?: number;
}

export interface ImportResult {
  games: number;
  ticks: number;
}

/** Ticks merged (and stored) per group: enough to keep round trips few, small enough for memory. */
const MERGE_TICK_BUDGET = 1_000_000;
/** Rows per multi-row INSERT of game metadata. */
const INSERT_ROWS = 1000;

export async function importGames(database: Database, chunks: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, options: ImportOptions): Promise<ImportResult> {
  const disk = database.disk;
  const reader = new GameRows(options.memoryTicks ?? 1_000_000, disk?.forPath(SpillFile.dir));
  try {
    // Parse first, outside the transaction: nothing is written until the whole file is read.
    let parseError: ImportError | undefined;
    try {
      const total = options.totalBytes ?? 0;
      for await (const batch of parseGames(chunks, {
        format: options.format,
        maxBytes: options.limits.maxBytes,
        maxGames: options.limits.maxGames,
        maxTicksPerGame: options.limits.maxTicksPerGame,
        onBytes: options.onProgress && ((bytes) => options.onProgress!({ current: bytes, total: Math.max(total, bytes) })),
      })) reader.add(batch);
    } catch (err) {
      if (!(err instanceof ImportError)) throw err;
      parseError = err;
    }
    // A duplicate t earlier in the file than a row error is the first bad line: check what was read.
    if (parseError) {
      const dup = await mergeGames(reader.groups(), parseError.line, async () => {});
      throw dup && dup.line < parseError.line ? dup : parseError;
    }
    const games = reader.counts.size;
    disk?.reserve(importBytes(reader.ticks, games), `storing ${games} games (${reader.ticks} ticks)`);
    const pacer = new GcPacer(GC_EVERY_TICKS);
    return await database.db.transaction(async (txn) => {
      const tx = txn as unknown as Db;
      const dup = await mergeGames(reader.groups(), Infinity, (group) => {
        // Again per group: something else may be filling the same disk meanwhile.
        disk?.reserve(importBytes(group.reduce((n, g) => n + g.t.length, 0), group.length), "the rest of this import");
        return storeGames(tx, group, reader.outcomes, options.synthetic ?? false, pacer);
      });
      if (dup) throw dup;
      await bumpDataVersion(tx);
      return { games, ticks: reader.ticks };
    });
  } catch (err) {
    // The transaction has rolled back by now; PostgreSQL's 53100 or an ENOSPC says why.
    throw asDiskFull(err, "storing the import");
  } finally {
    reader.close();
  }
}

/** An import's rows grouped per game: in memory up to the budget, in a spill file past it. */
class GameRows {
  readonly counts = new Map<string, number>();
  readonly outcomes = new Map<string, number>();
  ticks = 0;
  private pending = new Map<string, Chunk[]>();
  private pendingTicks = 0;
  private readonly pacer = new GcPacer(GC_EVERY_TICKS);
  private spill?: SpillFile;

  /** `spillDisk`: the floor kept where the spill file goes. */
  constructor(private readonly memoryTicks: number, private readonly spillDisk?: DiskGuard) {}

  add(batch: RowBatch): void {
    const added = groupBatch(batch, this.pending, this.counts, this.outcomes);
    this.ticks += added;
    this.pendingTicks += added;
    this.pacer.add(added);
    if (this.pendingTicks > this.memoryTicks) this.flush();
  }

  /** Whole games, about MERGE_TICK_BUDGET ticks per group, in the order they first appeared. */
  groups(): ChunkSource {
    if (!this.spill) return memoryChunks(this.pending);
    this.flush();
    return spilledChunks(this.spill, this.counts);
  }

  close(): void {
    this.spill?.close();
  }

  private flush(): void {
    this.spill ??= new SpillFile(this.spillDisk);
    this.spill.reserve(this.pendingTicks);
    for (const [id, list] of this.pending) for (const c of list) this.spill.append(id, c);
    this.pending = new Map();
    this.pendingTicks = 0;
  }
}

/** Yields groups of whole games (id and all its chunks), a bounded number of ticks at a time. */
type ChunkSource = Iterable<[string, Chunk[]][]>;

function* memoryChunks(pending: Map<string, Chunk[]>): Generator<[string, Chunk[]][]> {
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

function* spilledChunks(spill: SpillFile, counts: Map<string, number>): Generator<[string, Chunk[]][]> {
  let group: [string, Chunk[]][] = [];
  let ticks = 0;
  for (const [id, n] of counts) {
    group.push([id, spill.read(id)]);
    ticks += n;
    if (ticks >= MERGE_TICK_BUDGET) {
      yield group;
      group = [];
      ticks = 0;
    }
  }
  if (group.length) yield group;
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
 * Sorts each game's chunks by t and finds duplicate t (the later line of the two is the bad one),
 * handing finished groups to `store`; returns the duplicate with the smallest line before
 * `beforeLine`, if any, so the caller reports the first bad line of the file.
 */
async function mergeGames(source: ChunkSource, beforeLine: number, store: (group: SortedGame[]) => Promise<void>): Promise<ImportError | undefined> {
  let first: ImportError | undefined;
  let storing: Promise<void> | undefined;
  for (const group of source) {
    const merged: SortedGame[] = [];
    for (const [id, chunks] of group) {
      const game = sortGame(id, chunks);
      if (game.dupLine !== undefined && game.dupLine < beforeLine && (!first || game.dupLine < first.line)) {
        first = new ImportError(game.dupLine, `duplicate t ${game.dupT} in game ${JSON.stringify(id)}`);
      }
      if (!first) merged.push(game);
    }
    // One group is stored while the next is sorted; memory holds at most two groups. A bulk import
    // makes garbage faster than the collector returns it: collect once per group (~1M ticks) so
    // peak memory stays at the budget instead of growing with the file.
    await storing;
    Bun.gc(true);
    if (!first && merged.length > 0) storing = store(merged);
  }
  await storing;
  return first;
}

interface SortedGame { id: string; t: Float64Array; price: Float64Array; fair: Float64Array }

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

async function storeGames(tx: Db, merged: SortedGame[], outcomes: Map<string, number>, synthetic: boolean, pacer: GcPacer) {
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
      const rows = part.slice(j, j + 50);
      await tx.insert(gameTicks).values(rows.map((g) => ({
        gameId: g.id, t: packFloat64(g.t), price: packFloat64(g.price), fair: packFloat64(g.fair),
      })));
      pacer.add(rows.reduce((n, g) => n + g.t.length, 0));
    }
  }
}
