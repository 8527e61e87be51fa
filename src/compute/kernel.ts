// The strategy's hot loop: one game's ticks against a block of (entry, exit) pairs.
// Semantics are strategy.md, "The strategy"; simulateGame is its literal reading.

// Every trade's P&L is written in the spec's own expression form (pos * (price - ep) - 2c,
// pos * (outcome - ep) - c) and summed in trade order from 0, so an independent
// implementation that follows the spec gets the same doubles, not merely close ones.

export interface GameResult {
  pnl: number;
  trades: number;
  wins: number;
}

/** One pair over one game, returns a fresh object: the readable reference used by tests and simulation. */
export function simulateGame(
  price: Float64Array, fair: Float64Array, start: number, end: number, outcome: number,
  entry: number, exit: number, fee: number,
): GameResult {
  let pos = 0;
  let ep = 0;
  let pnl = 0;
  let trades = 0;
  let wins = 0;
  for (let i = start; i < end; i++) {
    const edge = fair[i] - price[i];
    if (pos !== 0 && pos * edge <= exit) {
      const t = pos * (price[i] - ep) - 2 * fee;
      pnl += t;
      trades++;
      if (t > 0) wins++;
      pos = 0; // and no reopen on this tick: the else-branches below are skipped
    } else if (pos === 0 && edge >= entry) {
      pos = 1;
      ep = price[i];
    } else if (pos === 0 && -edge >= entry) {
      pos = -1;
      ep = price[i];
    }
  }
  if (pos !== 0) {
    const t = pos * (outcome - ep) - fee;
    pnl += t;
    trades++;
    if (t > 0) wins++;
  }
  return { pnl, trades, wins };
}

// Per-game scratch, grown on demand and reused: a sweep calls evalGame once per game and
// block, and allocating per call would feed the GC in the hot path. Each Worker has its own.
let edgeBuf: Float64Array = new Float64Array(1024);
let absBuf: Float64Array = new Float64Array(1024);

function grow(buf: Float64Array, n: number): Float64Array {
  return buf.length >= n ? buf : new Float64Array(Math.max(n, buf.length * 2));
}

/** Evaluate pairs [pairFrom, pairTo) on one game's ticks [start, end) of the packed arrays.
 *  Writes this game's per-pair results (not accumulated) to out arrays at index (p - pairFrom).
 *
 *  Pair-major: edge and |edge| are computed once per game, then each pair runs two tight scans
 *  over them - while flat, to the first tick with |edge| >= e; while holding, to the first tick
 *  where pos * edge <= x. The game (a few KB) stays in L1 across the block's pairs. */
export function evalGame(
  price: Float64Array, fair: Float64Array, start: number, end: number, outcome: number,
  entries: Float64Array, exits: Float64Array, pairFrom: number, pairTo: number, fee: number,
  outPnl: Float64Array, outTrades: Float64Array, outWins: Float64Array,
): void {
  const n = end - start;
  edgeBuf = grow(edgeBuf, n);
  absBuf = grow(absBuf, n);
  const edge = edgeBuf;
  const abs = absBuf;
  for (let k = 0; k < n; k++) {
    const d = fair[start + k] - price[start + k];
    edge[k] = d;
    abs[k] = Math.abs(d); // |edge| >= e  <=>  edge >= e || -edge >= e, exactly
  }
  const fee2 = 2 * fee;
  for (let p = pairFrom; p < pairTo; p++) {
    const e = entries[p];
    const x = exits[p];
    let pnl = 0;
    let trades = 0;
    let wins = 0;
    let k = 0;
    for (;;) {
      // Conditions are negated (!(a >= b)) rather than flipped (a < b) so a NaN tick does
      // what the spec's comparisons make it do: neither open nor close.
      while (k < n && !(abs[k] >= e)) k++;
      if (k === n) break;
      const pos = edge[k] >= e ? 1 : -1;
      const ep = price[start + k];
      k++;
      if (pos === 1) while (k < n && !(edge[k] <= x)) k++;
      else while (k < n && !(-edge[k] <= x)) k++;
      if (k === n) {
        const t = pos * (outcome - ep) - fee;
        pnl += t;
        trades++;
        if (t > 0) wins++;
        break;
      }
      const t = pos * (price[start + k] - ep) - fee2;
      pnl += t;
      trades++;
      if (t > 0) wins++;
      k++; // the closing tick cannot reopen
    }
    const o = p - pairFrom;
    outPnl[o] = pnl;
    outTrades[o] = trades;
    outWins[o] = wins;
  }
}
