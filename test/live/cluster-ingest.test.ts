// Two daemons on one PostgreSQL (cluster.md), as two database handles with their own connections
// (the in-process live lock does not join them): ingests and settlements sent to both at once all
// succeed, and the stored signals are each strategy's exactly once, numbered without gaps or
// repeats, equal per game to strategy.md.
import { expect, test } from "bun:test";
import type { Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { postgresDatabase } from "../../src/db/postgres";
import { ingestTicks } from "../../src/live/ingest";
import { settleGame } from "../../src/live/settle";
import { readSignals } from "../../src/live/signals";
import { scratchDatabase } from "../support/migrations";
import { randomGames, refStrategy } from "../support/reference";
import { addStrategy, interleave, signalTotals } from "./helpers";

const pg = process.env.DATABASE_URL ? test : test.skip;

pg("live writes sent to two nodes at once are serialised in the store: every signal once, numbered in order", async () => {
  const scratch = await scratchDatabase("gridcast_live_cluster");
  const nodes: Database[] = [];
  try {
    for (let i = 0; i < 2; i++) nodes.push(await postgresDatabase(scratch.url, { max: 4 }));
    await migrate(nodes[0].db);
    const pairs: [number, number, number][] = [[0.05, 0.01, 0], [0.02, 0, 0.005]];
    const ids: number[] = [];
    for (const [e, x, c] of pairs) ids.push(await addStrategy(nodes[0], `s${e}`, e, x, c));
    const { games } = randomGames(8, 3);
    // Each node gets its own games, and both send their requests at once.
    const halves = [games.filter((_, i) => i % 2 === 0), games.filter((_, i) => i % 2 === 1)];
    const streams = halves.map((h) => interleave(h, 5));
    const batches = (stream: typeof streams[0]) => Array.from({ length: Math.ceil(stream.length / 17) }, (_, k) => stream.slice(k * 17, k * 17 + 17));
    await Promise.all(nodes.map(async (node, n) => {
      for (const batch of batches(streams[n])) await ingestTicks(node, batch);
      for (const g of halves[n]) await settleGame(node, g.id, g.outcome);
    }));
    const all = await readSignals(nodes[1].db, "seq", 0, {}, 1_000_000);
    expect(all.map((s) => s.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.map((s) => s.signal.id)).toEqual(all.map((_, i) => i + 1));
    for (const id of ids) {
      const mine = all.filter((s) => s.signal.strategy_id === id);
      expect(mine.map((s) => s.strategySeq)).toEqual(mine.map((_, i) => i + 1));
    }
    const totals = await signalTotals(nodes[1]);
    pairs.forEach(([e, x, c], k) => {
      for (const g of games) {
        const ref = refStrategy(g, e, x, c);
        const got = totals.get(`${ids[k]}/${g.id}`) ?? { pnl: 0, trades: 0, wins: 0 };
        expect(got.trades).toBe(ref.trades);
        expect(got.wins).toBe(ref.wins);
        expect(Math.abs(got.pnl - ref.pnl)).toBeLessThan(1e-9);
      }
    });
  } finally {
    for (const n of nodes) await n.close();
    await scratch.drop();
  }
});
