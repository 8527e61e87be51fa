// For the tests of a data migration: a database with no migrations applied, and applying a
// range of the embedded migrations, so rows can be stored in the shape before the one under test.
import postgres from "postgres";
import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/database";
import { embeddedMigrations } from "../../src/db/migrations/index";
import { createPglite, pgliteDatabase } from "../../src/db/pglite";
import { postgresDatabase } from "../../src/db/postgres";

export async function blankDatabase(kind: string): Promise<Database> {
  if (kind === "pglite") return pgliteDatabase(await createPglite(undefined));
  const name = `gridcast_mig_${process.pid}_${Date.now()}`;
  const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(process.env.DATABASE_URL!);
  u.pathname = `/${name}`;
  const db = await postgresDatabase(u.toString(), { max: 1 });
  return {
    ...db,
    close: async () => {
      await db.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export async function apply(db: Database, upTo: number, from = 0): Promise<void> {
  for (const m of embeddedMigrations.slice(from, upTo)) {
    for (const statement of m.sql.split("--> statement-breakpoint")) if (statement.trim()) await db.db.execute(sql.raw(statement));
  }
}

