// Benchmark of the two kernel layouts (pair-major evalGame vs tick-major) on generated games.
// Run: node_modules/.bin/bun scripts/bench-kernel.ts [ticks=200000] [ticksPerGame=500]

import { evalGame, simulateGame } from "../src/compute/kernel.ts";
import { evalGameTickMajor } from "./lib/tick-major-kernel.ts";
import { gridPairs, type GridParams } from "../src/compute/grid.ts";

type Kernel = typeof evalGame;

// Seeded so runs compare like with like.
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clamp = (v: number) => Math.min(0.99, Math.max(0.01, v));

/** Price as a random walk, fair as price plus a mean-reverting gap: edges of a few cents
 *  that cross typical entry/exit thresholds often, as recorded games do. */
function makeGames(ticks: number, perGame: number, rnd: () => number) {
  const price = new Float64Array(ticks);
  const fair = new Float64Array(ticks);
  const starts: number[] = [];
  const outcomes: number[] = [];
  for (let s = 0; s < ticks; s += perGame) {
    starts.push(s);
    outcomes.push(rnd() < 0.5 ? 0 : 1);
    let p = 0.2 + 0.6 * rnd();
    let gap = 0;
    for (let i = s; i < Math.min(s + perGame, ticks); i++) {
      p = clamp(p + (rnd() - 0.5) * 0.02);
      gap = 0.9 * gap + (rnd() - 0.5) * 0.05;
      price[i] = p;
      fair[i] = clamp(p + gap);
    }
  }
  starts.push(ticks);
  return { price, fair, starts, outcomes };
}

const ticks = Number(process.argv[2] ?? 200_000);
const perGame = Number(process.argv[3] ?? 500);
const games = makeGames(ticks, perGame, mulberry32(42));
const params: GridParams = {
  entry_start: 0.005, entry_stop: 0.2, entry_step: 0.005,
  exit_start: 0, exit_stop: 0.195, exit_step: 0.002,
  fee: 0.001, train_fraction: 0.6, valid_fraction: 0.2,
};
const { entries, exits } = gridPairs(params);
const m = entries.length;

/** Whole sweep: every game against the full block of pairs, summed per pair. */
function sweep(kernel: Kernel) {
  const pnl = new Float64Array(m);
  const trades = new Float64Array(m);
  const wins = new Float64Array(m);
  const gPnl = new Float64Array(m);
  const gTrades = new Float64Array(m);
  const gWins = new Float64Array(m);
  const t0 = performance.now();
  for (let g = 0; g + 1 < games.starts.length; g++) {
    kernel(games.price, games.fair, games.starts[g], games.starts[g + 1], games.outcomes[g],
      entries, exits, 0, m, 0.001, gPnl, gTrades, gWins);
    for (let j = 0; j < m; j++) {
      pnl[j] += gPnl[j];
      trades[j] += gTrades[j];
      wins[j] += gWins[j];
    }
  }
  return { ms: performance.now() - t0, pnl, trades, wins };
}

/** The spec's literal loop, one pair at a time, as the baseline the other two must beat. */
const naive: Kernel = (price, fair, start, end, outcome, es, xs, from, to, fee, oP, oT, oW) => {
  for (let p = from; p < to; p++) {
    const r = simulateGame(price, fair, start, end, outcome, es[p], xs[p], fee);
    oP[p - from] = r.pnl;
    oT[p - from] = r.trades;
    oW[p - from] = r.wins;
  }
};

const variants: [string, Kernel][] = [
  ["pair-major (evalGame)", evalGame],
  ["tick-major", evalGameTickMajor],
  ["naive per-pair", naive],
];
console.log(`${ticks} ticks in games of ${perGame}, ${m} pairs, ${(ticks * m / 1e6).toFixed(0)}M pair-ticks`);
const results = new Map<string, ReturnType<typeof sweep>>();
for (const [name, kernel] of variants) {
  sweep(kernel); // warm-up: let the JIT settle before timing
  let best = Infinity;
  let last!: ReturnType<typeof sweep>;
  for (let r = 0; r < 3; r++) {
    last = sweep(kernel);
    best = Math.min(best, last.ms);
  }
  results.set(name, last);
  const rate = (ticks * m) / (best / 1000);
  console.log(`${name.padEnd(24)} ${best.toFixed(0).padStart(6)} ms  ${(rate / 1e6).toFixed(0)}M pair-ticks/s`);
}

const [a, ...others] = [...results.values()];
let same = true;
for (const b of others) {
  for (let j = 0; j < m; j++) {
    if (a.pnl[j] !== b.pnl[j] || a.trades[j] !== b.trades[j] || a.wins[j] !== b.wins[j]) same = false;
  }
}
const totalTrades = a.trades.reduce((s, v) => s + v, 0);
console.log(`identical results: ${same}; ${totalTrades} trades in all`);
