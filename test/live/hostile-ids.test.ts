// Game ids that a PostgreSQL array literal would misread if one were not quoted right (the live
// write path sends each column as one array parameter, db/arrays.ts): quotes, backslashes, commas,
// braces, the word NULL, spaces, emoji and the longest id allowed. Through ingest, a strategy
// deployed mid-game (its catch-up reads the stored ticks back), settlement and the signal reads,
// every id and number comes back exactly as it went in.
import { expect, test } from "bun:test";
import { asc } from "drizzle-orm";
import type { Db } from "../../src/db/database";
import { loadGames } from "../../src/games/repository";
import { ingestTicks, type TickInput } from "../../src/live/ingest";
import { listLiveGames, storedTicks } from "../../src/live/repository";
import { settleGame } from "../../src/live/settle";
import { allSignals, listSignals, type Signal } from "../../src/live/signals";
import { forEachDatabase } from "../support/db";
import { randomGames, refStrategy } from "../support/reference";
import { addStrategy, interleave, signalTotals } from "./helpers";

const HOSTILE = [
  `say "hi"`, `back\\slash`, `trailing\\`, `a,b`, `{}`, `{"x",NULL}`, `NULL`, `two  spaces`, `\\"\\,`,
  `emoji 🎲🏀`, `ünïcødé ид 名前`, `'single' quotes`, `semi;colon -- x`, `x`.repeat(200), `{`.repeat(199) + `"`,
];

forEachDatabase("live ingest with hostile game ids", (db) => {
  test("ids with quotes, backslashes, commas, braces, NULL, emoji and 200 characters round-trip through ingest, settle and signals", async () => {
    const { games } = randomGames(HOSTILE.length, 5);
    games.forEach((g, i) => {
      g.id = HOSTILE[i];
      // Full-precision doubles (17 significant digits), and the extremes of [0, 1], must come back bit for bit.
      g.ticks = g.ticks.map((k, j) => ({ t: k.t + j / 3, price: Math.min(1, k.price + 1e-9 / 3), fair: Math.max(0, k.fair - 1e-10 / 7) }));
    });
    games[0].ticks[0] = { ...games[0].ticks[0], price: 5e-324, fair: 1 - 2 ** -53 };
    const stream: TickInput[] = interleave(games, 3);
    const early = await addStrategy(db(), "early", 0.05, 0.01, 0);
    const half = Math.floor(stream.length / 2);
    const published: Signal[] = [];
    let late = 0;
    for (let i = 0; i < stream.length; i += 37) {
      if (!late && i >= half) late = await addStrategy(db(), "late", 0.02, 0, 0.005);
      const r = await ingestTicks(db(), stream.slice(i, i + 37));
      published.push(...r.signals);
    }
    const live = await listLiveGames(db());
    expect(live.map((g) => g.game_id).sort()).toEqual([...HOSTILE].sort());
    for (const g of games) {
      const summary = live.find((l) => l.game_id === g.id)!;
      const last = g.ticks.at(-1)!;
      expect([summary.ticks, summary.t, summary.price, summary.fair]).toEqual([g.ticks.length, last.t, last.price, last.fair]);
      const stored = await storedTicks(db().db as unknown as Db, g.id, 0, g.ticks.length);
      expect(stored).toEqual(g.ticks);
    }
    for (const g of games) {
      const r = await settleGame(db(), g.id, g.outcome);
      expect(r.game_id).toBe(g.id);
      published.push(...r.signals);
    }
    // What was published is what is stored, byte for byte, and in id order.
    expect(JSON.stringify(await allSignals(db()))).toBe(JSON.stringify(published));
    for (const g of games) {
      const byGame = await listSignals(db(), { game: g.id, limit: 1000 });
      expect(JSON.stringify(byGame)).toBe(JSON.stringify(published.filter((s) => s.game_id === g.id)));
    }
    // Per game and strategy, strategy.md's totals (the late one too: its catch-up read the hostile ids' ticks back).
    const totals = await signalTotals(db());
    for (const g of games) {
      for (const [id, e, x, c] of [[early, 0.05, 0.01, 0], [late, 0.02, 0, 0.005]]) {
        const ref = refStrategy(g, e, x, c);
        const got = totals.get(`${id}/${g.id}`) ?? { pnl: 0, trades: 0, wins: 0 };
        expect(got.trades).toBe(ref.trades);
        expect(got.wins).toBe(ref.wins);
        expect(Math.abs(got.pnl - ref.pnl)).toBeLessThanOrEqual(1e-9);
      }
    }
    // Settled games are stored games under the very same ids, their ticks as received.
    const stored = new Map<string, { t: Float64Array }>();
    for await (const part of loadGames(db(), HOSTILE)) for (const s of part) stored.set(s.id, s);
    for (const g of games) expect([...stored.get(g.id)!.t]).toEqual(g.ticks.map((k) => k.t));
    expect(await listLiveGames(db())).toEqual([]);
  });
});
