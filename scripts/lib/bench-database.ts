// A fresh, migrated database of either kind for one benchmark measurement: PGlite in a temp dir
// (on disk, as the daemon keeps it), or a new database on a PostgreSQL server (a throwaway one,
// see throwaway-pg.ts, or DATABASE_URL), dropped again on close.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import type { Database, DatabaseKind } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

let counter = 0;

/** `pgUrl`: the server to create the database on (postgres only). close() also removes it. */
export async function benchDatabase(kind: DatabaseKind, pgUrl?: string): Promise<Database> {
  if (kind === "pglite") {
    const { createPglite, pgliteDatabase } = await import("../../src/db/pglite");
    const dir = mkdtempSync(join(tmpdir(), "gridcast-bench-live-"));
    const db = pgliteDatabase(await createPglite(join(dir, "pg")));
    await migrate(db.db);
    return { ...db, close: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  if (!pgUrl) throw new Error("postgres: no server URL");
  const { postgresDatabase } = await import("../../src/db/postgres");
  const name = `gridcast_bench_live_${process.pid}_${++counter}`;
  const admin = postgres(pgUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const db = await postgresDatabase(withDatabase(pgUrl, name));
  await migrate(db.db);
  return {
    ...db,
    close: async () => {
      await db.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end();
    },
  };
}
