// For the tests of a data migration: a database with no migrations applied, and applying a
// range of the embedded migrations, so rows can be stored in the shape before the one under test.
import postgres from "postgres";
import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/database";
import { embeddedMigrations } from "../../src/db/migrations/index";
import { createPglite, pgliteDatabase } from "../../src/db/pglite";
import { postgresDatabase } from "../../src/db/postgres";

/** A new, empty database on DATABASE_URL's server: its URL, and drop() to remove it. */
export async function scratchDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(process.env.DATABASE_URL!);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export async function blankDatabase(kind: string): Promise<Database> {
  if (kind === "pglite") return pgliteDatabase(await createPglite(undefined));
  const scratch = await scratchDatabase("gridcast_mig");
  const db = await postgresDatabase(scratch.url, { max: 1 });
  return {
    ...db,
    close: async () => {
      await db.close();
      await scratch.drop();
    },
  };
}

export async function apply(db: Database, upTo: number, from = 0): Promise<void> {
  for (const m of embeddedMigrations.slice(from, upTo)) {
    for (const statement of m.sql.split("--> statement-breakpoint")) if (statement.trim()) await db.db.execute(sql.raw(statement));
  }
}

