// Migration 0008 (issue 12): signals stored a row each become runs of one, keeping their ids,
// topic seqs, null P&L, hostile game ids and times, and numbering goes on after them.
import { afterEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Database, Db } from "../../src/db/database";
import { embeddedMigrations } from "../../src/db/migrations/index";
import { allSignals, insertSignals, readSignals } from "../../src/live/signals";
import { databaseKinds } from "../support/db";
import { apply, blankDatabase } from "../support/migrations";

const RUNS = embeddedMigrations.findIndex((m) => m.tag === "0008_signal_runs");

// [id, seq, strategy_id, strategy_seq, game_id, action, pnl]: ids with a gap, as an identity leaves after a rollback.
const OLD: [number, number, number, number, string, string, number | null][] = [
  [1, 1, 1, 1, `a "quoted", {braced} id`, "open_long", null],
  [2, 2, 2, 1, "NULL", "open_short", null],
  [4, 3, 1, 2, `a "quoted", {braced} id`, "close", 0.30000000000000004],
  [5, 4, 2, 2, "NULL", "settle", -0.25],
];

for (const kind of databaseKinds()) {
  describe(`signal runs migration [${kind}]`, () => {
    let db: Database | undefined;
    afterEach(async () => {
      await db?.close();
      db = undefined;
    });

    test("stored signals become runs of one with their ids and seqs; new signals number on after them", async () => {
      expect(RUNS).toBeGreaterThan(0);
      db = await blankDatabase(kind);
      await apply(db, RUNS);
      const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
      for (const [id, seq, strategy, strategySeq, game, action, pnl] of OLD) {
        await db.db.execute(sql`insert into signals (id, seq, strategy_seq, strategy_id, game_id, action, t, price, fair, edge, pnl, at)
          overriding system value values (${id}, ${seq}, ${strategySeq}, ${strategy}, ${game}, ${action}::signal_action, ${id}, 0.5, 0.75, 0.25, ${pnl}, ${at(id)}::timestamptz)`);
      }
      await apply(db, embeddedMigrations.length, RUNS);

      const stored = await allSignals(db);
      expect(stored.map((s) => [s.id, s.strategy_id, s.game_id, s.action, s.pnl, s.at])).toEqual(
        OLD.map(([id, , strategy, , game, action, pnl]) => [id, strategy, game, action, pnl, at(id)]));
      const bySeq = await readSignals(db.db, "seq", 1, {}, 10);
      expect(bySeq.map((s) => [s.signal.id, s.seq])).toEqual([[2, 2], [4, 3], [5, 4]]);
      const ofTwo = await readSignals(db.db, "strategy_seq", 0, { strategy: 2 }, 10);
      expect(ofTwo.map((s) => [s.signal.id, s.strategySeq])).toEqual([[2, 1], [5, 2]]);

      const r = await db.db.transaction((tx) => insertSignals(tx as unknown as Db, [
        { strategyId: 1, gameId: "new", action: "open_long", t: 9, price: 0.5, fair: 0.6, edge: 0.1, pnl: null },
      ], new Date()));
      expect([r.signals[0].id, r.seqs[0].seq, r.seqs[0].strategySeq]).toEqual([6, 5, 3]);
    });
  });
}
