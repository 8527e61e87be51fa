// The strategy's rules on small hand-computed games, and the kernels against the reference.
// Prices are multiples of 1/64 so every edge and P&L below is exact in float64.
import { describe, expect, it } from "bun:test";
import { evalGame, GameKernel, JUMP_MIN_PAIRS, JUMP_MIN_TICKS, simulateGame, type GameResult, type KernelChoice } from "../../src/compute/kernel.ts";

/** Every fast path, each forced, and the rule's own choice. */
const CHOICES: KernelChoice[] = ["scan", "jump", "auto"];

type Tick = [price: number, fair: number];

/** One game through the reference and the kernels; they must agree exactly before we look. */
function run(ticks: Tick[], outcome: number, entry: number, exit: number, fee = 0): GameResult {
  const price = Float64Array.from(ticks, (t) => t[0]);
  const fair = Float64Array.from(ticks, (t) => t[1]);
  const ref = simulateGame(price, fair, 0, ticks.length, outcome, entry, exit, fee);
  for (const how of CHOICES) {
    const out = [new Float64Array(1), new Float64Array(1), new Float64Array(1)];
    evalGame(price, fair, 0, ticks.length, outcome, Float64Array.of(entry), Float64Array.of(exit), 0, 1, fee, out[0], out[1], out[2], how);
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
    for (const how of CHOICES) {
      const out = [new Float64Array(3).fill(-1), new Float64Array(3).fill(-1), new Float64Array(3).fill(-1)];
      evalGame(price, fair, 2, 4, 0, entries, exits, 1, 3, 0, out[0], out[1], out[2], how);
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

  /** Short noisy games (every tick may trade) and long ones whose edge rests near 0 with rare
   *  spikes (a pair trades a few times), some with NaN ticks in price or fair or runs of them. */
  function makeGames(count: number, maxLen: number, long: boolean) {
    const games: { start: number; end: number; outcome: number }[] = [];
    const price: number[] = [];
    const fair: number[] = [];
    for (let g = 0; g < count; g++) {
      const len = Math.floor(rnd() * maxLen); // includes empty games
      const nanRate = rnd() < 0.3 ? rnd() * 0.2 : 0;
      const start = price.length;
      let p = rnd();
      let gap = 0;
      let nanRun = 0;
      for (let i = 0; i < len; i++) {
        p = long ? Math.min(1, Math.max(0, p + (rnd() - 0.5) * 0.02)) : rnd();
        gap = long ? (rnd() < 0.01 ? (rnd() - 0.5) * 0.6 : gap * 0.97 + (rnd() - 0.5) * 0.01) : (rnd() - 0.5) * 0.4;
        let pr = quant(p);
        let fa = quant(Math.min(1, Math.max(0, p + gap)));
        if (nanRun > 0 || rnd() < nanRate) {
          nanRun = nanRun > 0 ? nanRun - 1 : rnd() < 0.2 ? Math.floor(rnd() * 300) : 0;
          if (rnd() < 0.5) pr = NaN;
          else fa = NaN;
        }
        price.push(pr);
        fair.push(fa);
      }
      games.push({ start, end: price.length, outcome: rnd() < 0.5 ? 0 : 1 });
    }
    return { games, price: Float64Array.from(price), fair: Float64Array.from(fair) };
  }

  /** Pairs of the spec (0 <= x < e) and outside it (x >= e, x < 0, infinite, NaN). */
  function makePairs(m: number) {
    const entries = new Float64Array(m);
    const exits = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      const r = rnd();
      entries[k] = Math.max(1 / 64, quant(rnd() * 0.3));
      exits[k] = r < 0.15 ? 0 : r < 0.75 ? Math.min(quant(rnd() * entries[k]), entries[k] / 2) : r < 0.9 ? quant(entries[k] + rnd() * 0.1) : -quant(rnd() * 0.1);
    }
    // pairs the grid never makes but the kernels must still agree on
    const odd = [[Infinity, 0], [-Infinity, 0], [0, 0], [NaN, 0], [0.1, Infinity], [0.1, -Infinity], [0.1, NaN], [1 / 64, 1 / 64]];
    odd.forEach(([e, x], i) => ((entries[i * 7] = e), (exits[i * 7] = x)));
    return { entries, exits };
  }

  function compare(count: number, maxLen: number, long: boolean, m: number): number {
    const { games, price, fair } = makeGames(count, maxLen, long);
    const { entries, exits } = makePairs(m);
    const kernel = new GameKernel();
    const mismatches: string[] = [];
    let compared = 0;
    for (const { start, end, outcome } of games) {
      const fee = [0, 0.01, 0.015625][Math.floor(rnd() * 3)];
      const from = Math.floor(rnd() * 50);
      const to = m - Math.floor(rnd() * 50);
      kernel.load(price, fair, start, end, to - from);
      for (const how of CHOICES) {
        const oP = new Float64Array(to - from);
        const oT = new Float64Array(to - from);
        const oW = new Float64Array(to - from);
        // in chunks, as the worker runs a long game: the loaded edges and index serve them all
        const chunk = 1 + Math.floor(rnd() * (to - from));
        for (let a = from; a < to; a += chunk) {
          const o = a - from;
          kernel.run(outcome, entries, exits, a, Math.min(a + chunk, to), fee, oP.subarray(o), oT.subarray(o), oW.subarray(o), how);
        }
        for (let p = from; p < to; p++) {
          const ref = simulateGame(price, fair, start, end, outcome, entries[p], exits[p], fee);
          const j = p - from;
          compared++;
          if (!Object.is(oP[j], ref.pnl) || oT[j] !== ref.trades || oW[j] !== ref.wins) {
            mismatches.push(`${how} game@${start} pair ${p} (${entries[p]}, ${exits[p]}): ${oP[j]}/${oT[j]}/${oW[j]} vs ${JSON.stringify(ref)}`);
          }
        }
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    return compared;
  }

  it("scan, jump and auto equal simulateGame bit for bit on short noisy games, pair by pair", () => {
    expect(compare(200, 80, false, 300)).toBeGreaterThan(100_000);
  });

  it("scan, jump and auto equal simulateGame bit for bit on long games with rare trades and NaN runs", () => {
    expect(compare(30, 6000, true, 200)).toBeGreaterThan(10_000);
  });

  it("auto jumps on long games with few trades, and scans short games and pairs that trade on most ticks", () => {
    const n = 5000;
    const price = new Float64Array(n).fill(0.5);
    const fair = new Float64Array(n).fill(0.5);
    for (let i = 100; i < n; i += 1000) fair.fill(0.75, i, i + 50); // five spikes of edge 0.25
    const noisy = Float64Array.from(price, () => 0.5 + (rnd() - 0.5) * 0.4); // |edge| up to 0.2 every tick
    const pairs = (es: number[], x: number) => [Float64Array.from(es), new Float64Array(es.length).fill(x)] as const;
    const jumped = (p: Float64Array, f: Float64Array, end: number, [entries, exits]: readonly [Float64Array, Float64Array]) => {
      const m = entries.length;
      const out = [new Float64Array(m), new Float64Array(m), new Float64Array(m)];
      return new GameKernel().load(p, f, 0, end, m).run(0, entries, exits, 0, m, 0, out[0], out[1], out[2]);
    };
    const m = JUMP_MIN_PAIRS;
    const rare = pairs(Array.from({ length: m }, (_, i) => 0.1 + (i % 4) * 0.03125), 0.0625);
    expect(jumped(price, fair, n, rare)).toBe(m);
    expect(jumped(price, fair, JUMP_MIN_TICKS - 1, rare)).toBe(0);
    // one pair alone (a simulation) does not pay for the index
    expect(jumped(price, fair, n, pairs([0.1], 0.0625))).toBe(0);
    // entry 1/64 on a noisy edge trades every few ticks: after the first pair, auto scans
    expect(jumped(noisy, fair, n, pairs(Array(m).fill(1 / 64), 0))).toBe(1);
    // forced choices are obeyed
    const out = [new Float64Array(m), new Float64Array(m), new Float64Array(m)];
    const k = new GameKernel().load(noisy, fair, 0, 10, 1);
    expect(k.run(0, rare[0], rare[1], 0, m, 0, out[0], out[1], out[2], "jump")).toBe(m);
    expect(k.run(0, rare[0], rare[1], 0, m, 0, out[0], out[1], out[2], "scan")).toBe(0);
  });
});
