// The real workers on long games, where they choose the kernel's jumps: a grid search gives the
// bits of simulateGame summed in the pool's fixed order, whatever the unit size (units of fewer
// than JUMP_MIN_PAIRS pairs scan, larger ones jump) and the worker count.
import { afterEach, describe, expect, test } from "bun:test";
import { JUMP_MIN_PAIRS, JUMP_MIN_TICKS, simulateGame } from "../../src/compute/kernel.ts";
import { createPool, defaultUnitSize, type GridResult, type JobOutcome, type Pool } from "../../src/compute/pool.ts";
import { splitBounds } from "../../src/compute/splits.ts";
import { buildStore, type GameInput, type GameStore } from "../../src/compute/store.ts";
import { gameBlocks, SPLIT_NAMES, type GridTotals } from "../../src/compute/units.ts";
import { makePairs, rng } from "./fixtures.ts";

let pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.map((p) => p.close()));
  pools = [];
});

/** Long games: an edge resting near 0 with rare spikes, and runs of missing fair values. */
function longStore(count: number, seed: number): GameStore {
  const r = rng(seed);
  const games: GameInput[] = [];
  for (let g = 0; g < count; g++) {
    const n = 300 + Math.floor(r() * 2700);
    const price = new Float64Array(n);
    const fair = new Float64Array(n);
    let p = 0.3 + 0.4 * r();
    let gap = 0;
    let missing = 0;
    for (let i = 0; i < n; i++) {
      p = Math.min(0.99, Math.max(0.01, p + (r() - 0.5) * 0.01));
      gap = gap * 0.97 + (r() - 0.5) * 0.01 + (r() < 0.005 ? (r() - 0.5) * 0.4 : 0);
      if (missing === 0 && r() < 0.002) missing = 1 + Math.floor(r() * 40);
      price[i] = p;
      fair[i] = missing > 0 ? NaN : Math.min(1, Math.max(0, p + gap));
      if (missing > 0) missing--;
    }
    games.push({ id: `long${g}`, price, fair, outcome: r() < 0.5 ? 0 : 1 });
  }
  return buildStore(games, `test-long-${count}-${seed}`);
}

/** simulateGame per pair per game, summed as the pool sums: each game block from 0 in game
 *  order, block sums added per split in block order. */
function referenceInPoolOrder(store: GameStore, entries: Float64Array, exits: Float64Array, fee: number): GridTotals {
  const zeros = () => ({ pnl: new Float64Array(entries.length), trades: new Float64Array(entries.length), wins: new Float64Array(entries.length) });
  const totals: GridTotals = { train: zeros(), valid: zeros(), test: zeros() };
  for (const b of gameBlocks(splitBounds(store.games))) {
    const t = totals[SPLIT_NAMES[b.split]];
    for (let p = 0; p < entries.length; p++) {
      let pnl = 0;
      let trades = 0;
      let wins = 0;
      for (let g = b.from; g < b.to; g++) {
        const r = simulateGame(store.price, store.fair, store.offsets[g], store.offsets[g + 1], store.outcomes[g], entries[p], exits[p], fee);
        pnl += r.pnl;
        trades += r.trades;
        wins += r.wins;
      }
      t.pnl[p] += pnl;
      t.trades[p] += trades;
      t.wins[p] += wins;
    }
  }
  return totals;
}

function grid(o: JobOutcome): GridResult {
  if (o.status !== "complete" || o.result.kind !== "grid") throw new Error(`not a grid result: ${JSON.stringify(o)}`);
  return o.result;
}

describe("grid search on long games", () => {
  const store = longStore(150, 5);
  const { entries, exits } = makePairs(12, 10);
  const fee = 0.003;

  test("gives simulateGame's bits for every pair, for unit sizes that scan and that jump, on 1 and 2 workers", async () => {
    expect(store.ticks / store.games).toBeGreaterThan(JUMP_MIN_TICKS);
    const ref = referenceInPoolOrder(store, entries, exits, fee);
    let trades = 0;
    for (const s of SPLIT_NAMES) for (const t of ref[s].trades) trades += t;
    expect(trades).toBeGreaterThan(entries.length * store.games); // the pairs do trade
    const mismatches: string[] = [];
    for (const workers of [1, 2]) {
      const pool = createPool({ size: workers });
      pools.push(pool);
      for (const unitSize of [JUMP_MIN_PAIRS - 1, JUMP_MIN_PAIRS, defaultUnitSize(store)]) {
        const id = `long-w${workers}-u${unitSize}`;
        const r = grid(await pool.submit({ id, kind: "grid", store, entries, exits, fee, unitSize }).result);
        for (const s of SPLIT_NAMES) {
          for (let p = 0; p < entries.length; p++) {
            const [a, b] = [r.splits[s], ref[s]];
            if (!Object.is(a.pnl[p], b.pnl[p]) || a.trades[p] !== b.trades[p] || a.wins[p] !== b.wins[p]) {
              mismatches.push(`${id} ${s} pair ${p}: ${a.pnl[p]}/${a.trades[p]}/${a.wins[p]} vs ${b.pnl[p]}/${b.trades[p]}/${b.wins[p]}`);
            }
          }
        }
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  }, 60_000);
});
