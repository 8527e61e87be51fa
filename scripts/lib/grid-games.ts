// Synthetic games and pairs for the compute benchmarks (bench-grid, bench-kernel): seeded, so
// runs compare like with like.
import type { GameInput } from "../../src/compute/store.ts";

/** A store's input with its ticks as arrays the kernel can read directly. */
export interface SyntheticGame extends GameInput {
  price: Float64Array;
  fair: Float64Array;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}
const clamp = (v: number) => Math.min(1, Math.max(0, v));

/** Today's short games, 60 to 200 ticks: a price random walk and a fair value of independent
 *  noise around it (|edge| up to 0.08 on any tick), so low entries trade every few ticks. */
export function shortGames(count: number, seed: number): SyntheticGame[] {
  const rand = lcg(seed);
  const games: SyntheticGame[] = [];
  for (let g = 0; g < count; g++) {
    const n = 60 + Math.floor(rand() * 141);
    const price = new Float64Array(n);
    const fair = new Float64Array(n);
    let p = 0.2 + 0.6 * rand();
    for (let i = 0; i < n; i++) {
      p = clamp(p + (rand() - 0.5) * 0.03);
      price[i] = p;
      fair[i] = clamp(p + (rand() - 0.5) * 0.16);
    }
    games.push({ id: `g${g}`, price, fair, outcome: rand() < 0.5 ? 0 : 1 });
  }
  return games;
}

/** Long games, a tick a second: the price walks slowly, the edge is a small persistent noise
 *  (an AR(1) of sd ~0.006, decay 0.98 a tick) that a spike knocks away about once every
 *  `spikeEvery` ticks (an event the market or the model has not caught up with: |jump| 0.03 to
 *  0.18, fading over a minute or two), and now and then the fair value is missing for a few
 *  seconds (NaN). So entries above ~0.02 trade on the spikes, a few times a game, and entries
 *  near the noise trade on it, every few dozen ticks. */
export function longGames(count: number, ticks: number, seed: number, spikeEvery = 800): SyntheticGame[] {
  const rand = lcg(seed);
  const games: SyntheticGame[] = [];
  for (let g = 0; g < count; g++) {
    const price = new Float64Array(ticks);
    const fair = new Float64Array(ticks);
    let p = 0.2 + 0.6 * rand();
    let gap = 0;
    let missing = 0;
    for (let i = 0; i < ticks; i++) {
      p = Math.min(0.99, Math.max(0.01, p + (rand() - 0.5) * 0.004));
      gap = gap * 0.98 + (rand() - 0.5) * 0.004;
      if (rand() * spikeEvery < 1) gap += (rand() < 0.5 ? -1 : 1) * (0.03 + 0.15 * rand());
      if (missing === 0 && rand() < 1 / 2000) missing = 1 + Math.floor(rand() * 30);
      price[i] = p;
      fair[i] = missing > 0 ? NaN : clamp(p + gap);
      if (missing > 0) missing--;
    }
    games.push({ id: `g${g}`, price, fair, outcome: rand() < 0.5 ? 0 : 1 });
  }
  return games;
}

/** At least `count` pairs (e, x) with x < e from an even grid of step 0.002, in grid order
 *  (by entry, then exit): entries 0.002 to ~0.13 for 2,000 pairs. */
export function gridOfPairs(count: number): { entries: Float64Array; exits: Float64Array } {
  const side = Math.ceil(Math.sqrt(2 * count)) + 1;
  const entries: number[] = [];
  const exits: number[] = [];
  for (let i = 1; i <= side; i++) {
    for (let j = 0; j < i; j++) (entries.push(i * 0.002), exits.push(j * 0.002));
  }
  return { entries: Float64Array.from(entries.slice(0, count)), exits: Float64Array.from(exits.slice(0, count)) };
}
