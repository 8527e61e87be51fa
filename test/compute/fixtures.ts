// Deterministic synthetic games and pairs for the compute tests, plus the naive reference sum.
import { simulateGame } from "../../src/compute/kernel.ts";
import { buildStore, type GameInput, type GameStore } from "../../src/compute/store.ts";
import type { SplitBounds } from "../../src/compute/splits.ts";
import { seededRandom } from "../../src/games/demo.ts";

/** The demo data's seedable PRNG: the same numbers on every run. */
export const rng = seededRandom;

const clamp = (v: number) => Math.min(1, Math.max(0, v));

/** Games whose fair value wanders around a price random walk, so thresholds open and close trades. */
export function makeGames(count: number, seed = 1, minTicks = 20, maxTicks = 200): GameInput[] {
  const r = rng(seed);
  const games: GameInput[] = [];
  for (let g = 0; g < count; g++) {
    const n = minTicks + Math.floor(r() * (maxTicks - minTicks + 1));
    const price = new Float64Array(n);
    const fair = new Float64Array(n);
    let p = 0.2 + 0.6 * r();
    for (let i = 0; i < n; i++) {
      p = clamp(p + (r() - 0.5) * 0.04);
      price[i] = p;
      fair[i] = clamp(p + (r() - 0.5) * 0.2);
    }
    games.push({ id: `g${String(g).padStart(6, "0")}`, price, fair, outcome: r() < 0.5 ? 0 : 1 });
  }
  return games;
}

export function makeStore(count: number, seed = 1, minTicks = 20, maxTicks = 200): GameStore {
  return buildStore(makeGames(count, seed, minTicks, maxTicks), `test-${count}-${seed}-${minTicks}-${maxTicks}`);
}

/** Every (e, x) with x < e on a coarse grid: entries 0.01..0.10, exits 0..e. */
export function makePairs(entrySteps = 10, exitSteps = 10): { entries: Float64Array; exits: Float64Array } {
  const e: number[] = [];
  const x: number[] = [];
  for (let i = 1; i <= entrySteps; i++) {
    for (let j = 0; j < exitSteps; j++) {
      const en = i * 0.01;
      const ex = j * 0.005;
      if (ex < en) (e.push(en), x.push(ex));
    }
  }
  return { entries: Float64Array.from(e), exits: Float64Array.from(x) };
}

/** simulateGame per pair per game, summed in game order over each split: the spec read literally. */
export function naiveGrid(store: GameStore, entries: Float64Array, exits: Float64Array, fee: number, splits: SplitBounds) {
  const out: Record<string, { pnl: Float64Array; trades: Float64Array; wins: Float64Array }> = {};
  for (const name of ["train", "valid", "test"] as const) {
    const t = { pnl: new Float64Array(entries.length), trades: new Float64Array(entries.length), wins: new Float64Array(entries.length) };
    const [a, b] = splits[name];
    for (let p = 0; p < entries.length; p++) {
      for (let g = a; g < b; g++) {
        const r = simulateGame(store.price, store.fair, store.offsets[g], store.offsets[g + 1], store.outcomes[g], entries[p], exits[p], fee);
        t.pnl[p] += r.pnl;
        t.trades[p] += r.trades;
        t.wins[p] += r.wins;
      }
    }
    out[name] = t;
  }
  return out;
}

/** Bit-for-bit equality of two float arrays, by their raw bytes. */
export function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
