// Train / valid / test split of games in game order, and the final choice of the best pair.
// Semantics follow strategy.md, "Splits" and "Selection".

export interface SplitBounds {
  /** Half-open game index ranges [from, to) in game order. */
  train: [number, number];
  valid: [number, number];
  test: [number, number];
}

/** floor(f * n), read as the decimal the caller meant. The float product can land a hair
 *  below a whole number (0.7 * 90 = 62.99999999999999, 0.29 * 100 = 28.999999999999996),
 *  which a bare floor would turn into one game less. Adding 1e-9 lifts only products within
 *  1e-9 of an integer; with fractions of up to 9 decimals and fewer than ~1e6 games those are
 *  exactly the products that are integers. The default 0.6 / 0.2 never needs the nudge. */
function floorShare(f: number, n: number): number {
  return Math.floor(f * n + 1e-9);
}

export function splitBounds(n: number, trainFraction = 0.6, validFraction = 0.2): SplitBounds {
  const a = Math.min(floorShare(trainFraction, n), n);
  // Clamped so fractions whose sum float arithmetic puts a hair above 1 cannot overrun n.
  const b = Math.min(a + floorShare(validFraction, n), n);
  return { train: [0, a], valid: [a, b], test: [b, n] };
}

/** Index of the pair with the highest train pnl; ties go to the smaller entry, then the
 *  smaller exit. Compared explicitly rather than trusting the pairs' order. -1 if empty. */
export function selectBest(
  entries: ArrayLike<number>,
  exits: ArrayLike<number>,
  trainPnl: ArrayLike<number>,
): number {
  let best = -1;
  for (let k = 0; k < trainPnl.length; k++) {
    if (best < 0) {
      best = k;
      continue;
    }
    if (trainPnl[k] > trainPnl[best]) best = k;
    else if (trainPnl[k] === trainPnl[best]) {
      if (entries[k] < entries[best] || (entries[k] === entries[best] && exits[k] < exits[best])) {
        best = k;
      }
    }
  }
  return best;
}
