// Daemons starting together on one new PostgreSQL database (cluster.md): each runs migrate() at
// once, all succeed, and every migration is applied exactly once.
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { embeddedMigrations } from "../../src/db/migrations/index";
import { postgresDatabase } from "../../src/db/postgres";
import { scratchDatabase } from "../support/migrations";

const pg = process.env.DATABASE_URL ? test : test.skip;

pg("four daemons migrating one new database at once: all succeed, each migration applied once", async () => {
  const scratch = await scratchDatabase("gridcast_migrate_race");
  const nodes: Database[] = [];
  try {
    for (let i = 0; i < 4; i++) nodes.push(await postgresDatabase(scratch.url, { max: 2 }));
    const outcomes = await Promise.allSettled(nodes.map((n) => migrate(n.db)));
    expect(outcomes.map((o) => (o.status === "fulfilled" ? "ok" : String((o as PromiseRejectedResult).reason)))).toEqual(["ok", "ok", "ok", "ok"]);
    const [row] = await nodes[0].rows<{ n: unknown }>(sql`select count(*) as n from drizzle.__drizzle_migrations`);
    expect(Number(row.n)).toBe(embeddedMigrations.length);
    // And again, on a database already migrated: nothing to do, no error.
    await Promise.all(nodes.map((n) => migrate(n.db)));
    const [again] = await nodes[0].rows<{ n: unknown }>(sql`select count(*) as n from drizzle.__drizzle_migrations`);
    expect(Number(again.n)).toBe(embeddedMigrations.length);
  } finally {
    for (const n of nodes) await n.close();
    await scratch.drop();
  }
});
