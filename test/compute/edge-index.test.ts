// The index's three searches against a plain left-to-right search with the spec's comparisons,
// on random edges with NaN runs, ties at the threshold and thresholds at +-Infinity and NaN.
import { describe, expect, it } from "bun:test";
import { BLOCK, EdgeIndex } from "../../src/compute/edge-index.ts";
import { rng } from "./fixtures.ts";

function first(n: number, from: number, hit: (k: number) => boolean): number {
  for (let k = from; k < n; k++) if (hit(k)) return k;
  return n;
}

describe("EdgeIndex", () => {
  it("finds the first tick at or after k that passes, for every k, as a plain search does", () => {
    const r = rng(7);
    const index = new EdgeIndex();
    const mismatches: string[] = [];
    let searched = 0;
    // lengths around block and level boundaries, and a long one
    for (const n of [0, 1, 2, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, 3 * BLOCK + 5, 255, 256, 257, 1000, 4099]) {
      for (let rep = 0; rep < 4; rep++) {
        const edge = new Float64Array(n);
        const nanRate = [0, 0.05, 0.5, 1][rep];
        for (let k = 0; k < n; k++) {
          // 1/32 steps so thresholds are hit exactly; rare spikes and infinities; NaN singly and in runs
          edge[k] = r() < 0.02 ? (r() - 0.5) * 2 : r() < 0.005 ? (r() < 0.5 ? -Infinity : Infinity) : Math.round((r() - 0.5) * 8) / 32;
          if (r() < nanRate) edge.fill(NaN, k, Math.min(n, k + 1 + Math.floor(r() * 3 * BLOCK)));
        }
        index.build(edge, edge.map(Math.abs), n);
        const thresholds = [0, 1 / 32, 1 / 16, 3 / 32, 0.5, 0.99, -1 / 32, Infinity, -Infinity, NaN];
        for (const v of thresholds) {
          for (let k = 0; k <= n; k += 1 + Math.floor(r() * 7)) {
            const got = [index.nextEntry(k, v), index.nextAtMost(k, v), index.nextNegAtMost(k, v)];
            const want = [
              first(n, k, (i) => edge[i] >= v || -edge[i] >= v),
              first(n, k, (i) => edge[i] <= v),
              first(n, k, (i) => -edge[i] <= v),
            ];
            searched++;
            if (got.join() !== want.join()) mismatches.push(`n ${n} nan ${nanRate} v ${v} k ${k}: ${got} vs ${want}`);
          }
        }
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(searched).toBeGreaterThan(5_000);
  });

  it("is rebuilt for each game: a shorter game after a longer one sees only its own ticks", () => {
    const index = new EdgeIndex();
    const long = Float64Array.from({ length: 600 }, (_, k) => (k === 500 ? 1 : 0));
    index.build(long, long.map(Math.abs), 600);
    expect(index.nextEntry(0, 0.5)).toBe(500);
    const short = new Float64Array(300); // all 0: nothing reaches 0.5
    index.build(short, short, 300);
    expect(index.nextEntry(0, 0.5)).toBe(300);
    expect(index.nextAtMost(0, 0)).toBe(0);
  });
});
