// On PostgreSQL, statements with a few parameters are prepared once per connection and reused
// (src/db/postgres.ts): the hot paths' statements are not parsed and planned on every call.
// Statements without parameters (DDL among them) and with many stay unprepared.
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { blankDatabase } from "../support/migrations";

const pg = process.env.DATABASE_URL ? test : test.skip;

pg("a statement with parameters is prepared once and reused; none or many parameters are not prepared", async () => {
  // One connection (blankDatabase's), so the session's prepared statements are the ones it made.
  const db = await blankDatabase("postgres");
  try {
    const prepared = async () => Number((await db.rows<{ n: unknown }>(sql`select count(*) as n from pg_prepared_statements where statement like '%gridcast-probe%'`))[0].n);
    await db.db.execute(sql.raw("create table probe (id int) -- gridcast-probe"));
    expect(await prepared()).toBe(0);
    for (let i = 0; i < 5; i++) await db.db.execute(sql`select ${i}::int + 1 as x -- gridcast-probe`);
    expect(await prepared()).toBe(1);
    const many = Array.from({ length: 40 }, (_, i) => i);
    await db.db.execute(sql`select count(*) from probe where id in (${sql.join(many.map((v) => sql`${v}`), sql`, `)}) -- gridcast-probe`);
    expect(await prepared()).toBe(1);
  } finally {
    await db.close();
  }
});
