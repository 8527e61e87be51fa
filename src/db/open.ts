// Opens the configured database (PostgreSQL when DATABASE_URL is set, else PGlite in the data
// dir), applies migrations, and hands back one Database whatever the driver.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BreakerOptions } from "./breaker";
import type { Database } from "./database";
import { DiskGuard } from "./disk";
import { lockDataDir } from "./lock";
import { migrate } from "./migrate";
import { createPglite, needsInitdb, pgliteDatabase, warmPglite } from "./pglite";
import { postgresDatabase } from "./postgres";
import { workerUrl } from "../workers";

export interface OpenOptions {
  databaseUrl?: string;
  dataDir: string;
  /** Free space kept under the data dir (default DEFAULT_MIN_FREE_DISK_BYTES). */
  minFreeDiskBytes?: number;
  /** The store's circuit breaker (src/db/breaker.ts); default its settings' defaults. */
  breaker?: BreakerOptions;
  /** PGlite's shared buffers in bytes (--pglite-shared-buffers); default DEFAULT_PGLITE_SHARED_BUFFERS. */
  pgliteSharedBuffers?: number;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  let database: Database;
  if (options.databaseUrl) {
    database = await postgresDatabase(options.databaseUrl, { breaker: options.breaker });
  } else {
    mkdirSync(options.dataDir, { recursive: true });
    const lock = lockDataDir(options.dataDir);
    try {
      const dir = join(options.dataDir, "pglite");
      mkdirSync(dir, { recursive: true }); // PGlite does not create missing parents
      const sharedBuffers = options.pgliteSharedBuffers;
      if (needsInitdb(dir)) {
        warmPglite(); // compile the wasm here while the worker runs initdb
        await initdbInWorker(dir, sharedBuffers);
      }
      const inner = pgliteDatabase(await createPglite(dir, { sharedBuffers }), new DiskGuard(options.dataDir, options.minFreeDiskBytes), options.breaker);
      database = { ...inner, close: async () => { try { await inner.close(); } finally { lock.release(); } } };
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  try {
    await migrate(database.db);
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  return database;
}

/**
 * Runs PGlite's first-time initdb in a Worker so the main thread keeps serving meanwhile (and
 * initdb's module and its three WASM memories, near 1 GB at their peak, go with the worker).
 */
function initdbInWorker(dir: string, sharedBuffers: number | undefined): Promise<void> {
  const worker = new Worker(workerUrl("pgliteInitdb"));
  return new Promise<void>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<{ ok: boolean; error?: string }>) => {
      if (event.data.ok) resolve();
      else reject(new Error(`could not create the PGlite data dir ${dir}: ${event.data.error}`));
    };
    worker.onerror = (event) => reject(new Error(`PGlite initdb worker failed: ${event.message}`));
    worker.postMessage({ dir, sharedBuffers });
  }).finally(() => worker.terminate());
}
