// Signals are stored as runs (src/live/signals.ts): whatever the runs, every read gives exactly
// the signals a per-signal table would, in order: pages on id, seq and a strategy's seq that
// start inside a run, filters by strategy, game and time, more runs than one read fetches, the
// latest signals, the signals of some games and where the topics stand.
import { expect, test } from "bun:test";
import type { Db } from "../../src/db/database";
import {
  allSignals, insertSignals, latestSignals, listSignals, nextSignalNumbers, readSignals, signalPositions, signalsOfGames,
  type PendingSignal, type StoredSignal,
} from "../../src/live/signals";
import { forEachDatabase } from "../support/db";

const GAMES = ["g1", `a "quoted", {braced} id`, "NULL", "g,4"];

forEachDatabase("signal runs", (db) => {
  test("every read equals a filter over all signals, cursors inside runs and beyond one read's runs included", async () => {
    let s = 7;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
    const expected: StoredSignal[] = [];
    const times: Date[] = [];
    // 230 transactions of 1 to 3 strategies: more than the 200 runs one read fetches.
    for (let txn = 0; txn < 230; txn++) {
      const pending: PendingSignal[] = [];
      const n = 1 + Math.floor(rnd() * 6);
      for (let i = 0; i < n; i++) {
        const strategyId = 1 + Math.floor(rnd() * 3);
        const open = rnd() < 0.5;
        // A signal's edge is its fair - price (evaluator.ts); a fair of -0 at a price of 0 makes it -0.
        const [price, fair] = i === 0 ? [0, -0] : [rnd(), rnd()];
        pending.push({
          strategyId, gameId: GAMES[Math.floor(rnd() * GAMES.length)], action: open ? "open_long" : "close",
          t: txn + i / 10, price, fair, edge: fair - price, pnl: open ? null : rnd() - 0.5,
        });
      }
      const at = new Date(Date.UTC(2026, 0, 1, 0, 0, txn));
      times.push(at);
      const r = await db().db.transaction((tx) => insertSignals(tx as unknown as Db, pending, at));
      r.signals.forEach((signal, j) => expected.push({ signal, ...r.seqs[j] }));
    }
    // Ids, seqs and each strategy's seqs number the signals 1, 2, ... in one order.
    expect(expected.map((e) => e.signal.id)).toEqual(expected.map((_, i) => i + 1));
    expect(expected.map((e) => e.seq)).toEqual(expected.map((_, i) => i + 1));
    for (const sid of [1, 2, 3]) {
      const mine = expected.filter((e) => e.signal.strategy_id === sid);
      expect(mine.map((e) => e.strategySeq)).toEqual(mine.map((_, i) => i + 1));
    }
    expect(JSON.stringify(await allSignals(db()))).toBe(JSON.stringify(expected.map((e) => e.signal)));
    const negativeZero = (list: { edge: number }[]) => list.flatMap((x, i) => (Object.is(x.edge, -0) ? [i] : []));
    expect(negativeZero(await allSignals(db()))).toEqual(negativeZero(expected.map((e) => e.signal)));
    expect(negativeZero(expected.map((e) => e.signal)).length).toBeGreaterThan(100);

    const d = db().db;
    const total = expected.length;
    for (let round = 0; round < 40; round++) {
      const strategy = rnd() < 0.5 ? 1 + Math.floor(rnd() * 3) : undefined;
      const game = rnd() < 0.4 ? GAMES[Math.floor(rnd() * GAMES.length)] : undefined;
      const notAfter = rnd() < 0.3 ? times[Math.floor(rnd() * times.length)] : undefined;
      const limit = 1 + Math.floor(rnd() * (round % 5 === 0 ? 2000 : 50));
      const after = Math.floor(rnd() * total);
      const match = (e: StoredSignal) => (strategy === undefined || e.signal.strategy_id === strategy) && (game === undefined || e.signal.game_id === game)
        && (notAfter === undefined || Date.parse(e.signal.at) <= notAfter.getTime());
      const filter = { strategy, game, notAfter };
      expect(await readSignals(d, "id", after, filter, limit)).toEqual(expected.filter((e) => match(e) && e.signal.id > after).slice(0, limit));
      expect(await readSignals(d, "seq", after, filter, limit)).toEqual(expected.filter((e) => match(e) && e.seq > after).slice(0, limit));
      if (strategy !== undefined) {
        const afterS = Math.floor(rnd() * 150);
        expect(await readSignals(d, "strategy_seq", afterS, filter, limit)).toEqual(expected.filter((e) => match(e) && e.strategySeq > afterS).slice(0, limit));
      }
      expect(await listSignals(db(), { after, limit, strategy, game })).toEqual(
        expected.filter((e) => (strategy === undefined || e.signal.strategy_id === strategy) && (game === undefined || e.signal.game_id === game) && e.signal.id > after)
          .slice(0, limit).map((e) => e.signal));
    }
    expect(await readSignals(d, "id", total, {}, 10)).toEqual([]);
    expect(await latestSignals(d, 25)).toEqual(expected.slice(-25).reverse().map((e) => e.signal));
    const some = [GAMES[1], GAMES[2]];
    expect(await signalsOfGames(d, some)).toEqual(expected.filter((e) => some.includes(e.signal.game_id)).map((e) => e.signal));
    expect(await signalsOfGames(d, ["no such game"])).toEqual([]);
    const positions = await signalPositions(d);
    expect(positions.seq).toBe(total);
    for (const sid of [1, 2, 3]) expect(positions.perStrategy.get(sid)).toBe(expected.filter((e) => e.signal.strategy_id === sid).length);
    const next = await nextSignalNumbers(d, [1, 9]);
    expect([next.lastId, next.lastSeq, next.perStrategy.get(1), next.perStrategy.get(9)]).toEqual([total, total, positions.perStrategy.get(1), 0]);
  });

  test("an empty store: nothing to read, numbering starts at 1", async () => {
    const d = db().db;
    expect(await readSignals(d, "seq", 0, {}, 10)).toEqual([]);
    expect(await latestSignals(d, 5)).toEqual([]);
    expect(await signalPositions(d)).toEqual({ seq: 0, perStrategy: new Map() });
    expect(await nextSignalNumbers(d)).toEqual({ lastId: 0, lastSeq: 0, perStrategy: new Map() });
    expect(() => readSignals(d, "strategy_seq", 0, {}, 10)).toThrow();
  });
});
