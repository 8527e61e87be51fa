// live.md's identity: games fed through the one ingest path in random batches, several strategies
// (one deployed mid-game), then settled: per game and strategy, the signals' P&L, trade and win
// counts equal strategy.md's reference implementation.
import { expect, test } from "bun:test";
import { asc, eq, sql } from "drizzle-orm";
import type { Database } from "../../src/db/database";
import { games as gamesTable, liveGames, liveTickChunks, strategies } from "../../src/db/schema";
import { loadGames } from "../../src/games/repository";
import { ingestTicks, publishFailures } from "../../src/live/ingest";
import { memoryLogger } from "../support/server";
import { listLiveGames } from "../../src/live/repository";
import { allSignals, type Signal } from "../../src/live/signals";
import { settleGame } from "../../src/live/settle";
import { forEachDatabase } from "../support/db";
import { addStrategy, interleave, signalTotals } from "./helpers";
import { randomGames, refStrategy, type RefGame } from "../support/reference";

forEachDatabase("live ingest", (db) => {
  test("signals of random batches, several strategies and one deployed mid-game, equal strategy.md per game", async () => {
    const { games } = randomGames(240, 7);
    const stream = interleave(games, 11);
    const pairs: [number, number, number][] = [[0.05, 0.01, 0], [0.1, 0.02, 0.01], [0.02, 0, 0.005]];
    const ids: number[] = [];
    for (const [e, x, c] of pairs) ids.push(await addStrategy(db(), `s${e}`, e, x, c));
    let s = 99;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
    const half = Math.floor(stream.length / 2);
    let lateId = 0;
    let stored = 0;
    let emitted = 0;
    for (let i = 0; i < stream.length;) {
      if (!lateId && i >= half) lateId = await addStrategy(db(), "late", 0.04, 0.015, 0.002);
      const n = 1 + Math.floor(rnd() * (rnd() < 0.3 ? 5 : 700));
      const batch = stream.slice(i, i + n);
      const r = await ingestTicks(db(), batch);
      expect(r.ticks).toBe(batch.length);
      expect(r.games).toBe(new Set(batch.map((b) => b.game_id)).size);
      for (const sig of r.signals) expect(sig.id).toBeGreaterThan(emitted);
      emitted = r.signals.at(-1)?.id ?? emitted;
      stored += batch.length;
      i += n;
    }
    expect((await listLiveGames(db())).length).toBe(games.length);
    const [{ n }] = await db().rows<{ n: number }>(sql`select coalesce(sum(count), 0)::int as n from live_tick_chunks`);
    expect(n).toBe(stored);

    for (const g of games) {
      const r = await settleGame(db(), g.id, g.outcome);
      expect(r.ticks).toBe(g.ticks.length);
      // Only the late strategy can still be catching up on a game whose ticks all came before it.
      for (const sig of r.signals) if (sig.action !== "settle") expect(sig.strategy_id).toBe(lateId);
    }
    expect(await listLiveGames(db())).toEqual([]);

    const totals = await signalTotals(db());
    const all: [number, number, number, number][] = [...pairs.map(([e, x, c], k) => [ids[k], e, x, c] as [number, number, number, number]), [lateId, 0.04, 0.015, 0.002]];
    let trades = 0;
    for (const g of games) for (const [id, e, x, c] of all) {
      const ref = refStrategy(g, e, x, c);
      const got = totals.get(`${id}/${g.id}`) ?? { pnl: 0, trades: 0, wins: 0 };
      expect(Math.abs(got.pnl - ref.pnl)).toBeLessThanOrEqual(1e-9);
      expect(got.trades).toBe(ref.trades);
      expect(got.wins).toBe(ref.wins);
      trades += ref.trades;
    }
    expect(trades).toBeGreaterThan(100); // the strategies really traded

    // A settled live game is a stored game: same ticks, its outcome.
    const some = games.slice(0, 5);
    const loaded = [];
    for await (const part of loadGames(db(), some.map((g) => g.id))) loaded.push(...part);
    expect(loaded.map((g) => [g.id, g.outcome as number, [...g.t], [...g.price], [...g.fair]])).toEqual(
      some.map((g) => [g.id, g.outcome, g.ticks.map((t) => t.t), g.ticks.map((t) => t.price), g.ticks.map((t) => t.fair)]));
    const [{ left }] = await db().rows<{ left: number }>(sql`select coalesce(sum(count), 0)::int as left from live_tick_chunks`);
    expect(left).toBe(0);
  }, 120_000);

  test("a strategy deployed after a game's last tick still settles the whole game", async () => {
    const g: RefGame = { id: "late-g", outcome: 1, ticks: [{ t: 1, price: 0.4, fair: 0.6 }, { t: 2, price: 0.45, fair: 0.55 }] };
    await ingestTicks(db(), g.ticks.map((t) => ({ game_id: g.id, ...t })));
    const id = await addStrategy(db(), "after", 0.1, 0, 0.01);
    const r = await settleGame(db(), g.id, 1);
    const actions = (await allSignals(db(), [id])).map((s) => s.action);
    expect(actions).toEqual(["open_long", "settle"]);
    expect(r.signals.map((s: Signal) => s.action)).toEqual(["open_long", "settle"]);
    const ref = refStrategy(g, 0.1, 0, 0.01);
    expect(r.signals[1].pnl).toBe(ref.pnl);
    const [row] = await db().db.select().from(gamesTable).where(eq(gamesTable.id, g.id));
    expect(row.outcome).toBe(1);
    const [live] = await db().db.select().from(liveGames).where(eq(liveGames.id, g.id));
    expect(live.settledAt).not.toBeNull();
    expect(await db().db.select().from(liveTickChunks)).toEqual([]);
  });

  test("a publisher that throws is logged and counted; the ingest and its signals stand", async () => {
    await addStrategy(db(), "p", 0.1, 0, 0);
    const log = memoryLogger();
    const failures = publishFailures.count;
    let seen = 0;
    const r = await ingestTicks(db(), [{ game_id: "p1", t: 1, price: 0.4, fair: 0.6 }], new Date(), {
      log, onSignals: (s) => { seen = s.length; throw new Error("hub down"); },
    });
    expect(seen).toBe(1);
    expect(r.signals.map((s) => s.action)).toEqual(["open_long"]);
    expect(publishFailures.count).toBe(failures + 1);
    expect(log.lines.join("\n")).toContain("hub down");
    expect((await allSignals(db())).length).toBe(1);
  });
});
