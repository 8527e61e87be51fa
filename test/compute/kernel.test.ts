// The strategy's rules on small hand-computed games, and the kernels against the reference.
// Prices are multiples of 1/64 so every edge and P&L below is exact in float64.
import { describe, expect, it } from "bun:test";
import { evalGame, simulateGame, type GameResult } from "../../src/compute/kernel.ts";

type Tick = [price: number, fair: number];

/** One game through the reference and the kernel; they must agree exactly before we look. */
function run(ticks: Tick[], outcome: number, entry: number, exit: number, fee = 0): GameResult {
  const price = Float64Array.from(ticks, (t) => t[0]);
  const fair = Float64Array.from(ticks, (t) => t[1]);
  const ref = simulateGame(price, fair, 0, ticks.length, outcome, entry, exit, fee);
  for (const kernel of [evalGame]) {
    const out = [new Float64Array(1), new Float64Array(1), new Float64Array(1)];
    kernel(price, fair, 0, ticks.length, outcome, Float64Array.of(entry), Float64Array.of(exit), 0, 1, fee, out[0], out[1], out[2]);
    expect({ pnl: out[0][0], trades: out[1][0], wins: out[2][0] }).toEqual(ref);
  }
  return ref;
}

describe("strategy rules", () => {
  it("opens when edge equals entry exactly and closes when edge equals exit exactly", () => {
    const r = run([
      [0.5, 0.5], //       edge 0: flat
      [0.5, 0.625], //     edge 0.125 >= e 0.125: long at 0.5
      [0.625, 0.6875], //  edge 0.0625 <= x 0.0625: close, 1 * (0.625 - 0.5) = 0.125
    ], 0, 0.125, 0.0625);
    expect(r).toEqual({ pnl: 0.125, trades: 1, wins: 1 });
  });

  it("does not open when edge is just below entry", () => {
    // edge 0.625 - 0.5078125 = 0.1171875 < 0.125 on both sides: never trades
    expect(run([[0.5078125, 0.625], [0.625, 0.5078125]], 1, 0.125, 0)).toEqual({ pnl: 0, trades: 0, wins: 0 });
  });

  it("closes before it opens on the same tick, and does not reopen on the closing tick", () => {
    const r = run([
      [0.5, 0.75], //  edge 0.25: long at 0.5
      [0.75, 0.5], //  edge -0.25: close first, 1 * (0.75 - 0.5) = 0.25; -edge >= e but no reopen
      [0.75, 0.5], //  edge -0.25, flat: short at 0.75
    ], 1, 0.125, 0.0625);
    // settle the short at outcome 1: -1 * (1 - 0.75) = -0.25; total 0.25 - 0.25 = 0
    expect(r).toEqual({ pnl: 0, trades: 2, wins: 1 });
  });

  it("a position closed on the last tick stays closed (nothing to settle)", () => {
    // long at 0.5, closed at 0.75 for +0.25 on the last tick; a reopened short would settle too
    expect(run([[0.5, 0.75], [0.75, 0.5]], 1, 0.125, 0.0625)).toEqual({ pnl: 0.25, trades: 1, wins: 1 });
  });

  it("trades the short side", () => {
    const r = run([
      [0.75, 0.5], //   edge -0.25: -edge >= 0.125, short at 0.75
      [0.625, 0.5], //  edge -0.125: pos * edge = 0.125 > 0.0625, hold
      [0.5, 0.5], //    edge 0: 0 <= 0.0625, close: -1 * (0.5 - 0.75) = 0.25
    ], 1, 0.125, 0.0625);
    expect(r).toEqual({ pnl: 0.25, trades: 1, wins: 1 });
  });

  it("charges 2c on a close and c once on settlement", () => {
    const c = 0.015625;
    // long at 0.5, close at 0.625: (0.625 - 0.5) - 2 * 0.015625 = 0.125 - 0.03125 = 0.09375
    expect(run([[0.5, 0.75], [0.625, 0.625]], 0, 0.125, 0.0625, c)).toEqual({ pnl: 0.09375, trades: 1, wins: 1 });
    // long at 0.5 held to the end, outcome 1: (1 - 0.5) - 0.015625 = 0.484375
    expect(run([[0.5, 0.75], [0.5, 0.625]], 1, 0.125, 0.0625, c)).toEqual({ pnl: 0.484375, trades: 1, wins: 1 });
    // short at 0.75 held to the end, outcome 0: -1 * (0 - 0.75) - 0.015625 = 0.734375
    expect(run([[0.75, 0.5]], 0, 0.125, 0.0625, c)).toEqual({ pnl: 0.734375, trades: 1, wins: 1 });
    // a settled loser: long at 0.5, outcome 0: (0 - 0.5) - 0.015625 = -0.515625
    expect(run([[0.5, 0.75]], 0, 0.125, 0.0625, c)).toEqual({ pnl: -0.515625, trades: 1, wins: 0 });
  });

  it("with exit 0 holds while the edge is positive and closes when it reaches 0", () => {
    const r = run([
      [0.5, 0.75], //       long at 0.5
      [0.5625, 0.59375], // edge 0.03125 > 0: hold
      [0.625, 0.625], //    edge 0: 1 * 0 <= 0, close: 0.625 - 0.5 = 0.125
    ], 0, 0.125, 0);
    expect(r).toEqual({ pnl: 0.125, trades: 1, wins: 1 });
    // short at 0.75; edge -0.03125 keeps pos * edge = 0.03125 > 0; edge 0 closes: -(0.5 - 0.75) = 0.25
    expect(run([[0.75, 0.5], [0.625, 0.59375], [0.5, 0.5]], 1, 0.125, 0)).toEqual({ pnl: 0.25, trades: 1, wins: 1 });
  });

  it("counts a trade with P&L exactly 0 as a trade but not a win", () => {
    // long at 0.5, closed at 0.5: 1 * (0.5 - 0.5) - 0 = 0
    expect(run([[0.5, 0.75], [0.5, 0.5]], 1, 0.125, 0.0625)).toEqual({ pnl: 0, trades: 1, wins: 0 });
    // long at 0, settled at outcome 0: 1 * (0 - 0) - 0 = 0
    expect(run([[0, 0.25]], 0, 0.125, 0.0625)).toEqual({ pnl: 0, trades: 1, wins: 0 });
    // the fee alone makes a flat trade a loss: 0 - 2 * 0.015625 = -0.03125
    expect(run([[0.5, 0.75], [0.5, 0.5]], 1, 0.125, 0.0625, 0.015625)).toEqual({ pnl: -0.03125, trades: 1, wins: 0 });
  });

  it("sums several trades of one game in order", () => {
    const r = run([
      [0.25, 0.5], //   long at 0.25
      [0.5, 0.5], //    close: +0.25
      [0.75, 0.5], //   short at 0.75
      [0.875, 0.875], // close: -1 * (0.875 - 0.75) = -0.125
      [0.5, 0.75], //   long at 0.5, settled at 1: +0.5
    ], 1, 0.125, 0.0625);
    // 0 + 0.25 - 0.125 + 0.5 = 0.625
    expect(r).toEqual({ pnl: 0.625, trades: 3, wins: 2 });
  });

  it("gives zeros for an empty game", () => {
    expect(run([], 1, 0.125, 0.0625, 0.01)).toEqual({ pnl: 0, trades: 0, wins: 0 });
  });
});

describe("evalGame on packed arrays", () => {
  it("reads only [start, end) and writes pair p at index p - pairFrom", () => {
    // game A = ticks 0..1, game B = ticks 2..3 (a long at 0.5 closed at 0.75: +0.25)
    const price = Float64Array.of(0.75, 0.25, 0.5, 0.75);
    const fair = Float64Array.of(0.5, 0.5, 1, 0.75);
    const entries = Float64Array.of(0.9, 0.125, 0.5, 0.9);
    const exits = Float64Array.of(0, 0.0625, 0, 0);
    for (const kernel of [evalGame]) {
      const out = [new Float64Array(3).fill(-1), new Float64Array(3).fill(-1), new Float64Array(3).fill(-1)];
      kernel(price, fair, 2, 4, 0, entries, exits, 1, 3, 0, out[0], out[1], out[2]);
      // pair 1 (0.125, 0.0625): edge 0.5 opens, edge 0 closes, +0.25
      // pair 2 (0.5, 0): edge 0.5 opens, edge 0 closes, +0.25; index 2 is untouched
      expect([...out[0]]).toEqual([0.25, 0.25, -1]);
      expect([...out[1]]).toEqual([1, 1, -1]);
      expect([...out[2]]).toEqual([1, 1, -1]);
    }
  });
});

describe("kernels against the reference", () => {
  // Seeded so a failure reproduces.
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  // Mixed grids: 1/64 steps make edges hit thresholds exactly, 0.01 steps bring float noise.
  const quant = (v: number) => {
    const r = rnd();
    return r < 0.4 ? Math.round(v * 64) / 64 : r < 0.8 ? Math.round(v * 100) / 100 : v;
  };

  it("evalGame and the tick-major kernel equal simulateGame exactly, pair by pair", () => {
    const games: { start: number; end: number; outcome: number }[] = [];
    const price: number[] = [];
    const fair: number[] = [];
    for (let g = 0; g < 200; g++) {
      const len = Math.floor(rnd() * 80); // includes empty games
      const start = price.length;
      for (let i = 0; i < len; i++) {
        const p = quant(rnd());
        price.push(p);
        fair.push(quant(Math.min(1, Math.max(0, p + (rnd() - 0.5) * 0.4))));
      }
      games.push({ start, end: price.length, outcome: rnd() < 0.5 ? 0 : 1 });
    }
    const m = 300;
    const entries = new Float64Array(m);
    const exits = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      entries[k] = Math.max(1 / 64, quant(rnd() * 0.3));
      exits[k] = rnd() < 0.2 ? 0 : Math.min(quant(rnd() * entries[k]), entries[k] / 2);
    }
    const P = Float64Array.from(price);
    const F = Float64Array.from(fair);
    const mismatches: string[] = [];
    let compared = 0;
    for (const { start, end, outcome } of games) {
      const fee = [0, 0.01, 0.015625][Math.floor(rnd() * 3)];
      const from = Math.floor(rnd() * 50);
      const to = m - Math.floor(rnd() * 50);
      for (const [name, kernel] of [["evalGame", evalGame]] as const) {
        const oP = new Float64Array(to - from);
        const oT = new Float64Array(to - from);
        const oW = new Float64Array(to - from);
        kernel(P, F, start, end, outcome, entries, exits, from, to, fee, oP, oT, oW);
        for (let p = from; p < to; p++) {
          const ref = simulateGame(P, F, start, end, outcome, entries[p], exits[p], fee);
          const j = p - from;
          compared++;
          if (oP[j] !== ref.pnl || oT[j] !== ref.trades || oW[j] !== ref.wins) {
            mismatches.push(`${name} game@${start} pair ${p}: ${oP[j]}/${oT[j]}/${oW[j]} vs ${JSON.stringify(ref)}`);
          }
        }
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(compared).toBeGreaterThan(50_000);
  });
});
