// Train / valid / test bounds and the choice of the best pair.
import { describe, expect, it } from "bun:test";
import { selectBest, splitBounds } from "../../src/compute/splits.ts";

/** Sizes of the three splits, the way a reader checks them. */
const sizes = (n: number, t?: number, v?: number) => {
  const { train, valid, test } = splitBounds(n, t, v);
  return [train[1] - train[0], valid[1] - valid[0], test[1] - test[0]];
};

describe("splitBounds", () => {
  it("splits 60/20/20 by floor, the remainder going to test", () => {
    expect(sizes(1)).toEqual([0, 0, 1]); // floor(0.6) = 0, floor(0.2) = 0
    expect(sizes(4)).toEqual([2, 0, 2]); // floor(2.4) = 2, floor(0.8) = 0
    expect(sizes(7)).toEqual([4, 1, 2]); // floor(4.2) = 4, floor(1.4) = 1
    expect(sizes(10)).toEqual([6, 2, 2]);
    expect(sizes(0)).toEqual([0, 0, 0]);
  });

  it("gives contiguous half-open ranges in game order", () => {
    expect(splitBounds(7)).toEqual({ train: [0, 4], valid: [4, 5], test: [5, 7] });
  });

  it("matches floor(0.6 n) and floor(0.2 n) in exact arithmetic for every n up to 10000", () => {
    for (let n = 0; n <= 10_000; n++) {
      const { valid } = splitBounds(n);
      expect(valid).toEqual([Math.floor((6 * n) / 10), Math.floor((6 * n) / 10) + Math.floor((2 * n) / 10)]);
    }
  });

  it("takes custom fractions", () => {
    expect(sizes(8, 0.5, 0.25)).toEqual([4, 2, 2]);
    expect(sizes(5, 1, 0)).toEqual([5, 0, 0]);
    expect(sizes(5, 0, 0)).toEqual([0, 0, 5]);
    expect(sizes(10, 0.7, 0.3)).toEqual([7, 3, 0]);
  });

  it("does not lose a game where the float product lands a hair below an integer", () => {
    // 0.7 * 90 = 62.99999999999999 and 0.29 * 100 = 28.999999999999996 in float64
    expect(sizes(90, 0.7, 0.2)).toEqual([63, 18, 9]);
    expect(sizes(100, 0.29, 0.29)).toEqual([29, 29, 42]);
  });
});

describe("selectBest", () => {
  it("picks the highest train pnl", () => {
    expect(selectBest([0.01, 0.02, 0.03], [0, 0, 0], [-1, 2.5, 2])).toBe(1);
    expect(selectBest([0.01, 0.02], [0, 0], [-3, -2])).toBe(1);
  });

  it("breaks a tie on pnl by the smaller entry, then the smaller exit", () => {
    // listed out of order on purpose: the choice must not depend on position
    expect(selectBest([0.03, 0.02, 0.02], [0.01, 0.01, 0], [5, 5, 5])).toBe(2);
    expect(selectBest([0.03, 0.02, 0.04], [0, 0.01, 0], [5, 5, 4])).toBe(1);
    expect(selectBest([0.02, 0.02], [0.01, 0], [1, 1])).toBe(1);
  });

  it("returns -1 for no pairs", () => {
    expect(selectBest([], [], [])).toBe(-1);
  });
});
