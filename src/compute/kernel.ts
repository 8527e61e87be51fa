// The strategy's hot loop: one game's ticks against a block of (entry, exit) pairs.
// Semantics are strategy.md, "The strategy"; simulateGame is its literal reading, GameKernel
// the fast paths (a scan of every tick, or jumps from event to event on an EdgeIndex).
import { EdgeIndex } from "./edge-index.ts";

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

/** How a block of pairs is run: "scan" walks every tick (today's kernel), "jump" goes from
 *  event to event on the game's EdgeIndex, "auto" picks per pair by the rule below. */
export type KernelChoice = "auto" | "scan" | "jump";

// The rule for "auto", measured by scripts/bench-kernel.ts (its header has the figures). A
// pair's scan costs about a step per tick plus a mispredicted branch per entry and exit; its
// jumps cost two searches of the index per trade (an entry and an exit, each O(16 + log n)
// steps, the steps dearer than a scan's); and the game's index costs 5-7 scans of a pair to
// build, shared by the pairs run on it. Jumps won from about one trade every 20-30 ticks on
// games of 128 ticks and more (4x to 14x at a few trades a game, more for pairs that never
// trade), by up to 1.7x on 64-tick games, never on 32. So the scan keeps:
/** games shorter than this (on shorter ones jumps gained nothing), */
export const JUMP_MIN_TICKS = 64;
/** games that fewer pairs than this will run on (a simulation's one pair), */
export const JUMP_MIN_PAIRS = 16;
/** and pairs estimated to trade more often than once every this many ticks. */
export const JUMP_TICKS_PER_TRADE = 32;

/** One game made ready for its pairs: the edges, |edge| for the scan, and the event index once
 *  a pair needs it. Load a game once, then run every pair block (or chunk) of it: edges and
 *  index are shared. Each Worker keeps one; its buffers grow on demand and are reused, since
 *  allocating per game would feed the GC in the hot path. */
export class GameKernel {
  private edge = new Float64Array(1024);
  private abs = new Float64Array(1024);
  private readonly index = new EdgeIndex();
  private indexed = false;
  private price: Float64Array = this.edge;
  private start = 0;
  private n = 0;
  /** Trades of the last pair run on this game: the next pair's estimate (see run). */
  private lastTrades = 0;
  /** Pairs the caller will run on this game, in one call or in chunks. */
  private pairs = 0;

  /** Ready ticks [start, end) of the packed arrays for `pairs` pairs (run in one call or in
   *  chunks): the index is built only if enough pairs will share it. */
  load(price: Float64Array, fair: Float64Array, start: number, end: number, pairs: number): this {
    const n = end - start;
    if (this.edge.length < n) {
      this.edge = new Float64Array(Math.max(n, this.edge.length * 2));
      this.abs = new Float64Array(this.edge.length);
    }
    const { edge, abs } = this;
    for (let k = 0; k < n; k++) {
      const d = fair[start + k] - price[start + k];
      edge[k] = d;
      abs[k] = Math.abs(d); // |edge| >= e  <=>  edge >= e || -edge >= e, exactly
    }
    this.price = price;
    this.start = start;
    this.n = n;
    this.indexed = false;
    this.lastTrades = 0;
    this.pairs = pairs;
    return this;
  }

  /** Pairs [pairFrom, pairTo) on the loaded game, settling at `outcome`. Writes this game's
   *  per-pair results (not accumulated) to the out arrays at index (p - pairFrom). Every choice
   *  gives the same doubles: the same trades, in the same order, in the same expressions.
   *  Returns how many of the pairs went through the index (the rest were scanned). */
  run(
    outcome: number, entries: Float64Array, exits: Float64Array, pairFrom: number, pairTo: number, fee: number,
    outPnl: Float64Array, outTrades: Float64Array, outWins: Float64Array, how: KernelChoice = "auto",
  ): number {
    const n = this.n;
    if (how === "scan" || (how === "auto" && (n < JUMP_MIN_TICKS || this.pairs < JUMP_MIN_PAIRS))) {
      this.scanPairs(outcome, entries, exits, pairFrom, pairTo, pairFrom, fee, outPnl, outTrades, outWins);
      return 0;
    }
    // A pair's trades are estimated by its neighbour's: grid pairs come sorted by entry, then
    // exit, and neighbours trade alike. A wrong guess costs time, never a different result.
    let jumped = 0;
    for (let p = pairFrom; p < pairTo; p++) {
      const o = p - pairFrom;
      if (how === "jump" || this.lastTrades * JUMP_TICKS_PER_TRADE <= n) {
        if (!this.indexed) (this.index.build(this.edge, this.abs, n), (this.indexed = true));
        this.jumpPair(outcome, entries[p], exits[p], fee, o, outPnl, outTrades, outWins);
        jumped++;
      } else {
        this.scanPairs(outcome, entries, exits, p, p + 1, pairFrom, fee, outPnl, outTrades, outWins);
      }
      this.lastTrades = outTrades[o];
    }
    return jumped;
  }

  /** Today's kernel, pairs [from, to) written at (p - base): per pair, two tight scans - while
   *  flat, to the first tick with |edge| >= e; while holding, to the first tick where
   *  pos * edge <= x. One loop over the pairs keeps their setup out of the scans' way. */
  private scanPairs(outcome: number, entries: Float64Array, exits: Float64Array, from: number, to: number, base: number,
    fee: number, outPnl: Float64Array, outTrades: Float64Array, outWins: Float64Array): void {
    const { edge, abs, price, start, n } = this;
    const fee2 = 2 * fee;
    for (let p = from; p < to; p++) {
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
      const o = p - base;
      outPnl[o] = pnl;
      outTrades[o] = trades;
      outWins[o] = wins;
    }
  }

  /** The same walk as scanPairs, each scan replaced by a search of the index: O(log gap) per
   *  event. Two copies of the walk on purpose: one walk with both ways inside, choosing per
   *  event, measured 10% slower on the scan and 20% slower on auto on short games (the JIT keeps
   *  each tight loop simpler apart). Change one, change the other; kernel.test.ts holds both
   *  equal to simulateGame. */
  private jumpPair(outcome: number, e: number, x: number, fee: number, o: number,
    outPnl: Float64Array, outTrades: Float64Array, outWins: Float64Array): void {
    const { edge, price, start, n, index } = this;
    const fee2 = 2 * fee;
    let pnl = 0;
    let trades = 0;
    let wins = 0;
    let k = 0;
    for (;;) {
      k = index.nextEntry(k, e);
      if (k === n) break;
      const pos = edge[k] >= e ? 1 : -1;
      const ep = price[start + k];
      k = pos === 1 ? index.nextAtMost(k + 1, x) : index.nextNegAtMost(k + 1, x);
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
    outPnl[o] = pnl;
    outTrades[o] = trades;
    outWins[o] = wins;
  }
}

const shared = new GameKernel();

/** Evaluate pairs [pairFrom, pairTo) on one game's ticks [start, end) of the packed arrays:
 *  GameKernel.load then run, on a module-wide kernel (one per Worker). */
export function evalGame(
  price: Float64Array, fair: Float64Array, start: number, end: number, outcome: number,
  entries: Float64Array, exits: Float64Array, pairFrom: number, pairTo: number, fee: number,
  outPnl: Float64Array, outTrades: Float64Array, outWins: Float64Array, how: KernelChoice = "auto",
): void {
  shared.load(price, fair, start, end, pairTo - pairFrom).run(outcome, entries, exits, pairFrom, pairTo, fee, outPnl, outTrades, outWins, how);
}
