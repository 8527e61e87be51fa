// The database layer on both drivers: migrations are idempotent, packed arrays round-trip,
// and transactions roll back (the data dir lock: lock.test.ts).
import { expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { migrate } from "../../src/db/migrate";
import { embeddedMigrations } from "../../src/db/migrations/index";
import { games, gameTicks } from "../../src/db/schema";
import { forEachDatabase } from "../support/db";

forEachDatabase("database", (db) => {
  test("migrations are embedded and applying them again changes nothing", async () => {
    expect(embeddedMigrations.length).toBeGreaterThan(0);
    await migrate(db().db);
    await migrate(db().db);
    const applied = await db().rows<{ n: number | string }>(sql`select count(*) as n from drizzle.__drizzle_migrations`);
    expect(Number(applied[0].n)).toBe(embeddedMigrations.length);
  });

  test("packed float64 ticks round-trip through bytea bit for bit", async () => {
    const values = new Float64Array([0, 0.1, 0.30000000000000004, 1, -0, 5e-324, 0.123456789012345]);
    const bytes = new Uint8Array(values.buffer);
    await db().db.insert(games).values({ id: "g<1>", firstT: 0, tickCount: values.length, outcome: 1 });
    await db().db.insert(gameTicks).values({ gameId: "g<1>", t: bytes, price: bytes, fair: bytes });
    const [row] = await db().db.select().from(gameTicks).where(eq(gameTicks.gameId, "g<1>"));
    expect(Buffer.from(row.price).equals(Buffer.from(bytes))).toBe(true);
  });

  test("a failed transaction is rolled back and the connection keeps working", async () => {
    await expect(
      db().db.transaction(async (tx) => {
        await tx.insert(games).values({ id: "a", firstT: 0, tickCount: 1, outcome: 0 });
        await tx.insert(games).values({ id: "a", firstT: 0, tickCount: 1, outcome: 0 }); // duplicate key
      }),
    ).rejects.toThrow();
    expect(await db().db.select().from(games)).toHaveLength(0);
    await db().db.insert(games).values({ id: "b", firstT: 1, tickCount: 1, outcome: 1 });
    expect(await db().db.select().from(games)).toHaveLength(1);
  });

  test("deleting a game removes its ticks (cascade)", async () => {
    const b = new Uint8Array(8);
    await db().db.insert(games).values({ id: "x", firstT: 0, tickCount: 1, outcome: 0 });
    await db().db.insert(gameTicks).values({ gameId: "x", t: b, price: b, fair: b });
    await db().db.delete(games).where(eq(games.id, "x"));
    expect(await db().db.select().from(gameTicks)).toHaveLength(0);
  });
});
