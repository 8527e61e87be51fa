// Migration 0012 (issue 12): signal runs stored with a column per field (an action text and five
// packed float64 arrays each) read back the same after it, hostile game ids, null P&L and the
// edge included, and new runs number on after them; strategy states stored a row per (strategy,
// game) become a row per game, each strategy's totals on its row.
import { afterEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { packedText, texts } from "../../src/db/arrays";
import type { Database, Db } from "../../src/db/database";
import { embeddedMigrations } from "../../src/db/migrations/index";
import { loadStates, stateKey } from "../../src/live/repository";
import { allSignals, insertSignals, readSignals, signalsOfGames } from "../../src/live/signals";
import { getStrategy, strategyTotals } from "../../src/live/strategies";
import { databaseKinds } from "../support/db";
import { apply, blankDatabase } from "../support/migrations";

const COMPACT = embeddedMigrations.findIndex((m) => m.tag === "0012_compact_live_state");

const HOSTILE = `a "quoted", {braced} \\ id`;
// Two runs as 0008..0011 stored them: one game id and one action per signal.
const RUNS = [
  { firstId: 1, firstSeq: 1, strategy: 1, firstStrategySeq: 1, at: "2026-01-01T00:00:01.000Z", signals: [
    { game: HOSTILE, action: "open_long", t: 1, price: 0.5, fair: 0.75, pnl: null },
    { game: "NULL", action: "open_short", t: 2, price: 0.25, fair: 0.125, pnl: null },
    { game: HOSTILE, action: "close", t: 3, price: 0.8, fair: 0.7, pnl: 0.30000000000000004 },
  ] },
  { firstId: 4, firstSeq: 4, strategy: 2, firstStrategySeq: 1, at: "2026-01-01T00:00:02.000Z", signals: [
    { game: "NULL", action: "settle", t: 9, price: 1, fair: 0.6, pnl: -0.25 },
  ] },
];

for (const kind of databaseKinds()) {
  describe(`compact live state migration [${kind}]`, () => {
    let db: Database | undefined;
    afterEach(async () => {
      await db?.close();
      db = undefined;
    });

    test("stored runs read back the same signals after it; new signals number on after them", async () => {
      expect(COMPACT).toBeGreaterThan(0);
      db = await blankDatabase(kind);
      await apply(db, COMPACT);
      for (const r of RUNS) {
        const col = (f: (s: (typeof r.signals)[number]) => number) => packedText(Float64Array.from(r.signals, f));
        await db.db.execute(sql`insert into signal_runs (first_id, first_seq, strategy_id, first_strategy_seq, count, at, game_ids, actions, t, price, fair, edge, pnl)
          values (${r.firstId}, ${r.firstSeq}, ${r.strategy}, ${r.firstStrategySeq}, ${r.signals.length}, ${r.at}::timestamptz,
            ${texts(r.signals.map((s) => s.game))}::text[], ${texts(r.signals.map((s) => s.action))}::text[],
            decode(${col((s) => s.t)}, 'base64'), decode(${col((s) => s.price)}, 'base64'), decode(${col((s) => s.fair)}, 'base64'),
            decode(${col((s) => s.fair - s.price)}, 'base64'), decode(${col((s) => s.pnl ?? NaN)}, 'base64'))`);
      }
      await apply(db, embeddedMigrations.length, COMPACT);

      const expected = RUNS.flatMap((r) => r.signals.map((s, j) => ({
        id: r.firstId + j, strategy_id: r.strategy, game_id: s.game, action: s.action, t: s.t, price: s.price, fair: s.fair,
        edge: s.fair - s.price, pnl: s.pnl, at: r.at,
      })));
      expect(await allSignals(db)).toEqual(expected as never);
      expect((await signalsOfGames(db.db, [HOSTILE])).map((s) => s.id)).toEqual([1, 3]);
      const ofNull = await readSignals(db.db, "id", 0, { game: "NULL" }, 10);
      expect(ofNull.map((s) => [s.signal.id, s.seq, s.strategySeq])).toEqual([[2, 2, 2], [4, 4, 1]]);

      const r = await db.db.transaction((tx) => insertSignals(tx as unknown as Db, [
        { strategyId: 2, gameId: "NULL", action: "open_long", t: 10, price: 0.5, fair: 0.6, edge: 0.6 - 0.5, pnl: null },
        { strategyId: 2, gameId: HOSTILE, action: "close", t: 11, price: 0.4, fair: 0.45, edge: 0.45 - 0.4, pnl: -0.1 },
        { strategyId: 2, gameId: "NULL", action: "close", t: 12, price: 0.7, fair: 0.6, edge: 0.6 - 0.7, pnl: 0.2 },
      ], new Date()));
      expect(r.signals.map((s) => [s.id, s.game_id])).toEqual([[5, "NULL"], [6, HOSTILE], [7, "NULL"]]);
      expect(r.seqs.map((s) => [s.seq, s.strategySeq])).toEqual([[5, 2], [6, 3], [7, 4]]);
      expect((await allSignals(db, [2])).slice(1)).toEqual(r.signals);
    });

    test("strategy states become a row per game with every strategy's state; totals are their sums, open positions counted", async () => {
      db = await blankDatabase(kind);
      await apply(db, COMPACT);
      for (const id of [1, 2, 3]) {
        await db.db.execute(sql`insert into strategies (id, name, entry, exit, fee) overriding system value values (${id}, ${`s${id}`}, 0.05, 0.01, 0.001)`);
      }
      for (const g of [HOSTILE, "NULL", "quiet"]) {
        await db.db.execute(sql`insert into live_games (id, tick_count, last_t, last_price, last_fair) values (${g}, 5, 5, 0.5, 0.5)`);
      }
      // [strategy, game, pos, ep, pnl, trades, wins, last_seq]
      const rows: [number, string, number, number, number, number, number, number][] = [
        [1, HOSTILE, 1, 0.4375, 0.30000000000000004, 3, 2, 4],
        [2, HOSTILE, 0, 0, 0, 0, 0, 4],
        [1, "NULL", -1, 0.8, -0.25, 1, 0, 9],
        [3, "NULL", 0, 0, 0.1, 2, 1, -1],
      ];
      for (const [s, g, pos, ep, pnl, trades, wins, last] of rows) {
        await db.db.execute(sql`insert into strategy_games (strategy_id, game_id, pos, ep, pnl, trades, wins, last_seq)
          values (${s}, ${g}, ${pos}, ${ep}, ${pnl}, ${trades}, ${wins}, ${last})`);
      }
      await apply(db, embeddedMigrations.length, COMPACT);

      const states = await loadStates(db.db, [HOSTILE, "NULL", "quiet"]);
      expect(states.size).toBe(rows.length);
      for (const [s, g, pos, ep, pnl, trades, wins, lastSeq] of rows) expect(states.get(stateKey(s, g))).toEqual({ pos, ep, pnl, trades, wins, lastSeq });
      const totals = async (id: number) => strategyTotals((await getStrategy(db!, id))!);
      expect(await totals(1)).toEqual({ pnl: 0.30000000000000004 + -0.25, trades: 4, wins: 2, games: 2, open_positions: 2 });
      expect(await totals(2)).toEqual({ pnl: 0, trades: 0, wins: 0, games: 1, open_positions: 0 });
      expect(await totals(3)).toEqual({ pnl: 0.1, trades: 2, wins: 1, games: 1, open_positions: 0 });
    });
  });
}
