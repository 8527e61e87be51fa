// The Database handle the rest of gridcast sees: a drizzle instance typed the same on both drivers,
// one raw-SQL adapter (the drivers' raw results differ), and close().
import { sql, type SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { StoreBreaker } from "./breaker";
import type { DiskGuard } from "./disk";
import type { schema } from "./schema";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type DatabaseKind = "pglite" | "postgres";

export interface Database {
  kind: DatabaseKind;
  db: Db;
  /** Raw SQL, rows as plain objects whatever the driver (postgres.js: array; PGlite: `{ rows }`). */
  rows<T = Record<string, unknown>>(query: SQL, tx?: Db): Promise<T[]>;
  /** A cheap round trip, for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** The floor of free space kept under the data dir (PGlite); PostgreSQL's disk is its server's. */
  disk?: DiskGuard;
  /** The circuit breaker every statement of `db` passes (src/db/breaker.ts). */
  breaker: StoreBreaker;
  /** PGlite: the size of its WebAssembly memory (it only grows; resident where touched). */
  wasmMemoryBytes?: () => number;
}

/** The handle both adapters return: only the driver's kind and its close differ. */
export function databaseHandle(kind: DatabaseKind, db: Db, close: () => Promise<void>, disk?: DiskGuard, breaker = new StoreBreaker()): Database {
  return {
    kind,
    disk,
    breaker,
    db,
    rows: async (query, tx) => rowsOf(await (tx ?? db).execute(query)),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close,
  };
}

export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export class DatabaseUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseUnavailable";
  }
}
