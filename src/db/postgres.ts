// PostgreSQL through postgres.js, for DATABASE_URL: the same drizzle schema and queries as PGlite.
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { sql } from "drizzle-orm";
import { schema } from "./schema";
import { databaseHandle, DatabaseUnavailable, type Database, type Db } from "./database";

export interface PostgresOptions {
  max?: number;
  /** Seconds to wait for the first connection before giving up. */
  connectTimeout?: number;
}

/** Connects and proves the server answers, so a wrong URL fails at start with a clear message. */
export async function postgresDatabase(url: string, options: PostgresOptions = {}): Promise<Database> {
  const client = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeout ?? 5,
    onnotice: () => {},
  });
  const db = drizzle(client, { schema }) as unknown as Db;
  try {
    await db.execute(sql`select 1`);
  } catch (err) {
    await client.end({ timeout: 1 }).catch(() => {});
    throw new DatabaseUnavailable(`DATABASE_URL does not answer: ${(err as Error).message}`);
  }
  return databaseHandle("postgres", db, () => client.end({ timeout: 5 }));
}
