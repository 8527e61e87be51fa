// Migration 0007 (issue 12): live ticks already stored a row each become one packed chunk per
// game, bit for bit (little-endian as packed.ts, -0 and subnormals included), and the live
// readers see the same games and ticks as before it.
import { afterEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Database, Db } from "../../src/db/database";
import { embeddedMigrations } from "../../src/db/migrations/index";
import { listLiveGames, storedTicks } from "../../src/live/repository";
import { databaseKinds } from "../support/db";
import { apply, blankDatabase } from "../support/migrations";

const CHUNKS = embeddedMigrations.findIndex((m) => m.tag === "0007_live_tick_chunks");

const TICKS: Record<string, [number, number, number][]> = {
  [`a "quoted", {braced} id`]: [[1, 0.5, 0.5], [2, 0.30000000000000004, 1e-300], [3.5, 5e-324, 0.123456789012345], [4, 1, -0]],
  one: [[-7.25, 0.99, 0.01]],
};

// A bound number -0 would travel as "0".
const text = (v: number) => (Object.is(v, -0) ? "-0" : String(v));

for (const kind of databaseKinds()) {
  describe(`live tick chunks migration [${kind}]`, () => {
    let db: Database | undefined;
    afterEach(async () => {
      await db?.close();
      db = undefined;
    });

    test("stored live ticks become one chunk per game, bit for bit, received when their last tick was", async () => {
      expect(CHUNKS).toBeGreaterThan(0);
      db = await blankDatabase(kind);
      await apply(db, CHUNKS);
      const received = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
      for (const [id, ticks] of Object.entries(TICKS)) {
        const [t, price, fair] = ticks.at(-1)!;
        await db.db.execute(sql`insert into live_games (id, started_at, tick_count, last_t, last_price, last_fair)
          values (${id}, ${received(0).toISOString()}::timestamptz, ${ticks.length}, ${t}, ${price}, ${fair})`);
        for (const [seq, [t, price, fair]] of ticks.entries()) {
          await db.db.execute(sql`insert into live_ticks (game_id, seq, t, price, fair, received_at)
            values (${id}, ${seq}, ${text(t)}::float8, ${text(price)}::float8, ${text(fair)}::float8, ${received(seq + 1).toISOString()}::timestamptz)`);
        }
      }
      await apply(db, CHUNKS + 1, CHUNKS);

      const chunks = await db.rows<{ game_id: string; first_seq: number; count: number }>(sql`select game_id, first_seq, count from live_tick_chunks order by game_id`);
      expect(chunks.map((c) => [c.game_id, Number(c.first_seq), Number(c.count)]).sort()).toEqual(
        Object.entries(TICKS).map(([id, ticks]) => [id, 0, ticks.length]).sort());
      for (const [id, ticks] of Object.entries(TICKS)) {
        const stored = await storedTicks(db.db as unknown as Db, id, 0, ticks.length);
        expect(stored.map((x) => [x.t, x.price, x.fair])).toEqual(ticks);
        expect(Object.is(stored.at(-1)!.fair, ticks.at(-1)![2])).toBe(true); // -0 stays -0
      }
      // The chunk counts as received with its last tick: a starter's cut-off before that sees none of it.
      const quoted = `a "quoted", {braced} id`;
      expect((await listLiveGames(db, received(3))).map((g) => g.game_id)).toEqual(["one"]);
      const all = await listLiveGames(db, received(4));
      expect(all.find((g) => g.game_id === quoted)).toMatchObject({ ticks: 4, t: 4, price: 1, fair: -0 });
    });
  });
}
