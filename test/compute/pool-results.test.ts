import { afterEach, describe, expect, test } from "bun:test";
import { simulateGame } from "../../src/compute/kernel.ts";
import { createPool, type GridResult, type JobOutcome, type Pool, type SimulationResult } from "../../src/compute/pool.ts";
import { splitBounds } from "../../src/compute/splits.ts";
import { SPLIT_NAMES } from "../../src/compute/units.ts";
import { makePairs, makeStore, naiveGrid, sameBits } from "./fixtures.ts";

let pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.map((p) => p.close()));
  pools = [];
});
function pool(size: number): Pool {
  const p = createPool({ size });
  pools.push(p);
  return p;
}
function grid(o: JobOutcome): GridResult {
  if (o.status !== "complete" || o.result.kind !== "grid") throw new Error(`not a grid result: ${JSON.stringify(o)}`);
  return o.result;
}
function sim(o: JobOutcome): SimulationResult {
  if (o.status !== "complete" || o.result.kind !== "simulation") throw new Error(`not a simulation: ${JSON.stringify(o)}`);
  return o.result;
}

// 700 games: every split ends in a partial game block; 20 x 20 steps give a few hundred pairs.
const store = makeStore(700, 11);
const { entries, exits } = makePairs(20, 20);
const fee = 0.002;

describe("grid results", () => {
  test("are identical bit for bit for 1, 2 and 3 workers and two unit sizes", async () => {
    const results: GridResult[] = [];
    for (const workers of [1, 2, 3]) {
      const p = pool(workers);
      for (const unitSize of [7, 64]) {
        const h = p.submit({ id: `w${workers}-u${unitSize}`, kind: "grid", store, entries, exits, fee, unitSize });
        results.push(grid(await h.result));
      }
    }
    const [first, ...rest] = results;
    for (const r of rest) {
      for (const s of SPLIT_NAMES) {
        expect(sameBits(r.splits[s].pnl, first.splits[s].pnl)).toBe(true);
        expect(sameBits(r.splits[s].trades, first.splits[s].trades)).toBe(true);
        expect(sameBits(r.splits[s].wins, first.splits[s].wins)).toBe(true);
      }
    }
  }, 30_000);

  test("match simulateGame per pair per game summed in game order (to 1e-9)", async () => {
    const splits = splitBounds(store.games);
    const ref = naiveGrid(store, entries, exits, fee, splits);
    const r = grid(await pool(2).submit({ id: "ref", kind: "grid", store, entries, exits, fee }).result);
    expect(r.pairs).toBe(entries.length);
    let trades = 0;
    for (const s of SPLIT_NAMES) {
      for (let p = 0; p < entries.length; p++) {
        expect(Math.abs(r.splits[s].pnl[p] - ref[s].pnl[p])).toBeLessThan(1e-9);
        expect(r.splits[s].trades[p]).toBe(ref[s].trades[p]);
        expect(r.splits[s].wins[p]).toBe(ref[s].wins[p]);
        trades += r.splits[s].trades[p];
      }
    }
    expect(trades).toBeGreaterThan(0); // the fixture really trades
  }, 30_000);

  test("honour custom split fractions", async () => {
    const splits = splitBounds(store.games, 0.5, 0.3);
    const few = { entries: entries.subarray(0, 30), exits: exits.subarray(0, 30) };
    const ref = naiveGrid(store, few.entries, few.exits, 0, splits);
    const r = grid(await pool(2).submit({ id: "fr", kind: "grid", store, ...few, fee: 0, splits }).result);
    for (const s of SPLIT_NAMES) for (let p = 0; p < 30; p++) expect(Math.abs(r.splits[s].pnl[p] - ref[s].pnl[p])).toBeLessThan(1e-9);
  });

  test("an empty store completes with zero totals", async () => {
    const empty = makeStore(0, 1);
    const r = grid(await pool(1).submit({ id: "empty", kind: "grid", store: empty, entries, exits, fee }).result);
    expect(r.splits.train.pnl.every((v) => v === 0)).toBe(true);
  });
});

describe("simulation", () => {
  test("returns per-game figures equal to simulateGame and the running total, for any worker count", async () => {
    const one = { entries: Float64Array.of(0.05), exits: Float64Array.of(0.01) };
    const results: SimulationResult[] = [];
    for (const workers of [1, 3]) results.push(sim(await pool(workers).submit({ id: `sim${workers}`, kind: "simulation", store, ...one, fee }).result));
    const [r] = results;
    expect(sameBits(results[1].perGame.pnl, r.perGame.pnl)).toBe(true);
    expect(sameBits(results[1].equity, r.equity)).toBe(true);
    let total = 0;
    for (let g = 0; g < store.games; g++) {
      const ref = simulateGame(store.price, store.fair, store.offsets[g], store.offsets[g + 1], store.outcomes[g], 0.05, 0.01, fee);
      expect(Math.abs(r.perGame.pnl[g] - ref.pnl)).toBeLessThan(1e-9);
      expect(r.perGame.trades[g]).toBe(ref.trades);
      expect(r.perGame.wins[g]).toBe(ref.wins);
      total += r.perGame.pnl[g];
      expect(r.equity[g]).toBe(total);
    }
  }, 30_000);

  test("refuses more than one pair", () => {
    expect(() => pool(1).submit({ id: "bad", kind: "simulation", store, entries, exits, fee })).toThrow("exactly one pair");
  });
});
