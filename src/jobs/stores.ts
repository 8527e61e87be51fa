// Builds the shared-memory GameStore for a job's games, and keeps the last one while the data
// has not changed, so consecutive jobs over the same games share it without reloading.
import { inArray, sql } from "drizzle-orm";
import { createStoreBuilder, type GameStore } from "../compute/store";
import type { Database } from "../db/database";
import { games } from "../db/schema";
import { dataVersion, loadPricedGames } from "../games/repository";
import { GC_EVERY_TICKS, GcPacer } from "../ops/memory-trim";

export class GameStoreCache {
  private cached?: { key: string; store: Promise<GameStore>; loaded?: GameStore };

  constructor(private readonly database: () => Database) {}

  /** The store for exactly these games in this order; throws if one was deleted meanwhile. */
  async storeFor(gameIds: readonly string[]): Promise<GameStore> {
    const database = this.database();
    const key = `${await dataVersion(database)}:${gameIds.length}:${Bun.hash(gameIds.join("\u0000")).toString(36)}`;
    if (this.cached?.key === key) {
      const hit = await this.cached.store.catch(() => undefined);
      if (hit) return hit;
    }
    const store = this.build(database, gameIds, key);
    const cached: { key: string; store: Promise<GameStore>; loaded?: GameStore } = { key, store };
    this.cached = cached;
    store.then((s) => (cached.loaded = s), () => {});
    return store;
  }

  /** Bytes of the kept store's shared buffers (0 while none is kept or it is still loading). */
  heldBytes(): number {
    return this.cached?.loaded?.byteLength ?? 0;
  }

  /** Forgets the kept store (a job running on it keeps its own reference); the next job loads its games again. */
  drop(): void {
    this.cached = undefined;
  }

  private async build(database: Database, gameIds: readonly string[], key: string): Promise<GameStore> {
    let ticks = 0;
    for (let i = 0; i < gameIds.length; i += 5000) {
      const part = gameIds.slice(i, i + 5000) as string[];
      const [row] = await database.db.select({ n: sql<number>`coalesce(sum(${games.tickCount}), 0)` }).from(games).where(inArray(games.id, part));
      ticks += Number(row.n);
    }
    const builder = createStoreBuilder(key, gameIds.length, ticks);
    const pacer = new GcPacer(GC_EVERY_TICKS); // the rows' hex text is garbage many times the ticks' size
    let loaded = 0;
    for await (const group of loadPricedGames(database, gameIds as string[])) {
      pacer.add(group.reduce((n, g) => n + g.price.length, 0));
      for (const g of group) {
        if (g.id !== gameIds[loaded]) throw new Error(`game ${JSON.stringify(gameIds[loaded])} no longer exists`);
        builder.addGame({ id: g.id, price: g.price, fair: g.fair, outcome: g.outcome });
        loaded++;
      }
    }
    if (loaded !== gameIds.length) throw new Error(`game ${JSON.stringify(gameIds[loaded])} no longer exists`);
    return builder.finish();
  }
}
