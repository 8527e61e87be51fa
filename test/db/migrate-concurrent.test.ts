// Daemons starting together on one new PostgreSQL database (cluster.md): each runs migrate() at
// once, all succeed, and every migration is applied exactly once.
import { expect, test } from "bun:test";
import postgres from "postgres";
import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { embeddedMigrations } from "../../src/db/migrations/index";
import { postgresDatabase } from "../../src/db/postgres";

const pg = process.env.DATABASE_URL ? test : test.skip;

pg("four daemons migrating one new database at once: all succeed, each migration applied once", async () => {
  const name = `gridcast_migrate_race_${process.pid}`;
  const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(process.env.DATABASE_URL!);
  u.pathname = `/${name}`;
  const nodes: Database[] = [];
  try {
    for (let i = 0; i < 4; i++) nodes.push(await postgresDatabase(u.toString(), { max: 2 }));
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
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});
