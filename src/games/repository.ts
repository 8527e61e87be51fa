// Reading and deleting stored games: pages of metadata, whole games for compute (a few queries,
// not one per tick), the CSV export stream, and the data version that compute caches key on.
import { asc, count, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/database";
import { games, gameTicks, meta } from "../db/schema";
import { unpackFloat64 } from "./packed";

export interface GameSummary {
  id: string;
  first_t: number;
  ticks: number;
  outcome: number;
  synthetic: boolean;
  imported_at: string;
}

export interface StoredGame {
  id: string;
  outcome: 0 | 1;
  t: Float64Array;
  price: Float64Array;
  fair: Float64Array;
}

/** Game order (strategy.md): first tick's t, then game id in string order. */
const GAME_ORDER = [asc(games.firstT), asc(sql`${games.id} collate "C"`)] as const;

export async function listGames(database: Database, page: number, perPage: number): Promise<{ games: GameSummary[]; total: number }> {
  const [rows, [{ n }]] = await Promise.all([
    database.db.select().from(games).orderBy(...GAME_ORDER).limit(perPage).offset((page - 1) * perPage),
    database.db.select({ n: count() }).from(games),
  ]);
  return {
    total: Number(n),
    games: rows.map((g) => ({
      id: g.id, first_t: g.firstT, ticks: g.tickCount, outcome: g.outcome, synthetic: g.synthetic, imported_at: g.importedAt.toISOString(),
    })),
  };
}

/** Ids of the stored games in game order, optionally only those named (unknown names are returned apart). */
export async function gameIdsInOrder(database: Database, only?: string[]): Promise<{ ids: string[]; unknown: string[] }> {
  const q = database.db.select({ id: games.id }).from(games);
  const rows = await (only ? q.where(inArray(games.id, only)) : q).orderBy(...GAME_ORDER);
  const ids = rows.map((r) => r.id);
  if (!only) return { ids, unknown: [] };
  const found = new Set(ids);
  return { ids, unknown: only.filter((id) => !found.has(id)) };
}

export async function deleteGame(database: Database, id: string): Promise<boolean> {
  return database.db.transaction(async (tx) => {
    const deleted = await tx.delete(games).where(eq(games.id, id)).returning({ id: games.id });
    if (deleted.length > 0) await bumpDataVersion(tx as never);
    return deleted.length > 0;
  });
}

export async function bumpDataVersion(db: Database["db"]): Promise<void> {
  await db.insert(meta).values({ key: "data_version", value: crypto.randomUUID() })
    .onConflictDoUpdate({ target: meta.key, set: { value: sql`excluded.value` } });
}

export async function dataVersion(database: Database): Promise<string> {
  const [row] = await database.db.select().from(meta).where(eq(meta.key, "data_version"));
  return row?.value ?? "empty";
}

/** What compute reads of a game: its ticks' prices and fair values, without their times. */
export type PricedGame = Omit<StoredGame, "t">;

/** Loads whole games in game order, `batch` games per query; yields them one group at a time. */
export function loadGames(database: Database, ids: string[], batch = 200): AsyncGenerator<StoredGame[]> {
  return loadInOrder(database, ids, batch, true) as AsyncGenerator<StoredGame[]>;
}

/** The same without `t`: the compute store never reads times, and they are a third of the bytes
 *  to fetch, decode and unpack for every job's store on every node. */
export function loadPricedGames(database: Database, ids: string[], batch = 200): AsyncGenerator<PricedGame[]> {
  return loadInOrder(database, ids, batch, false);
}

async function* loadInOrder(database: Database, ids: string[], batch: number, withT: boolean): AsyncGenerator<(PricedGame & { t?: Float64Array })[]> {
  const columns = { id: games.id, outcome: games.outcome, price: gameTicks.price, fair: gameTicks.fair, ...(withT ? { t: gameTicks.t } : {}) };
  for (let i = 0; i < ids.length; i += batch) {
    const part = ids.slice(i, i + batch);
    const rows = await database.db.select(columns)
      .from(games).innerJoin(gameTicks, eq(gameTicks.gameId, games.id))
      .where(inArray(games.id, part));
    const byId = new Map(rows.map((r) => [r.id, r]));
    yield part.flatMap((id) => {
      const r = byId.get(id);
      if (!r) return []; // deleted meanwhile
      const game = { id, outcome: r.outcome as 0 | 1, price: unpackFloat64(r.price), fair: unpackFloat64(r.fair) };
      return [r.t ? { ...game, t: unpackFloat64(r.t) } : game];
    });
  }
}

/** The CSV export, streamed: importing it gives the same data back, byte for byte (numbers print round-trip exact). */
export function exportCsv(database: Database): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let rows: AsyncGenerator<StoredGame[]> | undefined;
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode("game_id,t,price,fair,outcome\n"));
      const { ids } = await gameIdsInOrder(database);
      rows = loadGames(database, ids, 50);
    },
    async pull(controller) {
      const next = await rows!.next();
      if (next.done) return controller.close();
      for (const g of next.value) {
        const id = csvField(g.id);
        let out = "";
        for (let i = 0; i < g.t.length; i++) out += `${id},${csvNumber(g.t[i])},${csvNumber(g.price[i])},${csvNumber(g.fair[i])},${g.outcome}\n`;
        controller.enqueue(encoder.encode(out));
      }
    },
    async cancel() {
      await rows?.return(undefined);
    },
  });
}

/** The shortest decimal that reads back as the same double (String's), -0 kept: the parser reads
 *  "-0" as -0. Stored numbers are finite, so no "Infinity" or "NaN" can come out. */
function csvNumber(x: number): string {
  return x === 0 && 1 / x < 0 ? "-0" : String(x);
}

/** Quotes an id only when CSV needs it. Ids never start with a formula character (the id rule
 *  of ids.ts), so a spreadsheet opening the export runs nothing and no cell needs escaping. */
function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
