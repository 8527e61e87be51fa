// Cutting a job into units (a block of pairs x a block of games) and folding their partial sums
// back in a fixed order, so totals are bit-identical for any worker count and pair-block size.
import type { SplitBounds } from "./splits.ts";

/** Games per game block. A constant on purpose, not a setting: each unit sums its games from 0
 *  and the job adds unit sums in block order, so the block size fixes the float rounding. */
export const GAME_BLOCK = 64;
export const SPLIT_NAMES = ["train", "valid", "test"] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface GameBlock {
  from: number;
  to: number;
  split: number; // index into SPLIT_NAMES
}

export interface UnitSpec {
  /** Index in hand-out order: pairBlock * gameBlocks + gameBlock (pairBlock: the pair block, pairs / unitSize). */
  index: number;
  pairFrom: number;
  pairTo: number;
  gameFrom: number;
  gameTo: number;
  split: number;
}

/** A finished unit: what the caller persists and hands back as `done` to resume.
 *  Grid: arrays of length pairTo - pairFrom, sums over the block's games (in game order from 0).
 *  Simulation: arrays of length gameTo - gameFrom, one entry per game. */
export interface UnitPartial {
  unit: number;
  pairFrom: number;
  pairTo: number;
  gameFrom: number;
  gameTo: number;
  pnl: Float64Array;
  trades: Float64Array;
  wins: Float64Array;
}

export interface Totals {
  pnl: Float64Array;
  trades: Float64Array;
  wins: Float64Array;
}

export type GridTotals = Record<SplitName, Totals>;

/** Game blocks cut within each split, so a split boundary is always a block boundary. */
export function gameBlocks(splits: SplitBounds): GameBlock[] {
  const out: GameBlock[] = [];
  SPLIT_NAMES.forEach((name, split) => {
    const [a, b] = splits[name];
    for (let g = a; g < b; g += GAME_BLOCK) out.push({ from: g, to: Math.min(g + GAME_BLOCK, b), split });
  });
  return out;
}

export class UnitPlan {
  readonly blocks: GameBlock[];
  readonly pairBlocks: number;
  readonly units: number;

  constructor(readonly pairs: number, readonly unitSize: number, splits: SplitBounds) {
    if (!(unitSize >= 1) || !Number.isInteger(unitSize)) throw new RangeError(`bad unit size ${unitSize}`);
    this.blocks = gameBlocks(splits);
    this.pairBlocks = Math.ceil(pairs / unitSize);
    this.units = this.pairBlocks * this.blocks.length;
  }

  /** Units in index order walk one pair block's game blocks before the next pair block: handed
   *  out that way, a pair block's partials arrive nearly in order and little waits in pending. */
  unit(index: number): UnitSpec {
    const nb = this.blocks.length;
    const pb = Math.floor(index / nb);
    const b = this.blocks[index - pb * nb];
    const pairFrom = pb * this.unitSize;
    return { index, pairFrom, pairTo: Math.min(pairFrom + this.unitSize, this.pairs), gameFrom: b.from, gameTo: b.to, split: b.split };
  }

  /** Progress units (pair x game) a unit accounts for. */
  weight(u: UnitSpec): number {
    return (u.pairTo - u.pairFrom) * (u.gameTo - u.gameFrom);
  }

  /** Whether a stored partial is exactly this plan's unit; one cut with another unit size
   *  (or over other games) is not, and must be computed again rather than folded. */
  matches(p: UnitPartial, perGame: boolean): boolean {
    if (!Number.isInteger(p.unit) || p.unit < 0 || p.unit >= this.units) return false;
    const u = this.unit(p.unit);
    const same = u.pairFrom === p.pairFrom && u.pairTo === p.pairTo && u.gameFrom === p.gameFrom && u.gameTo === p.gameTo;
    const len = perGame ? u.gameTo - u.gameFrom : u.pairTo - u.pairFrom;
    return same && p.pnl.length === len && p.trades.length === len && p.wins.length === len;
  }
}

function zeros(n: number): Totals {
  return { pnl: new Float64Array(n), trades: new Float64Array(n), wins: new Float64Array(n) };
}

/** Folds grid partials per pair per split strictly in game-block order; a partial that arrives
 *  early waits in `pending` until the blocks before it are in. */
export class GridFold {
  readonly totals: GridTotals;
  private readonly next: Int32Array; // per pair block: the game block to fold next
  private readonly pending = new Map<number, UnitPartial>();
  private folded = 0;

  constructor(private readonly plan: UnitPlan, private readonly onPairBlockDone?: (lastPair: number) => void) {
    this.totals = { train: zeros(plan.pairs), valid: zeros(plan.pairs), test: zeros(plan.pairs) };
    this.next = new Int32Array(plan.pairBlocks);
  }

  get complete(): boolean {
    return this.folded === this.plan.units;
  }
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Returns false for a unit already folded or pending (a duplicate changes nothing). */
  add(p: UnitPartial): boolean {
    const nb = this.plan.blocks.length;
    const pb = Math.floor(p.unit / nb);
    if (p.unit - pb * nb < this.next[pb] || this.pending.has(p.unit)) return false;
    this.pending.set(p.unit, p);
    let u: UnitPartial | undefined;
    let moved = false;
    while ((u = this.pending.get(pb * nb + this.next[pb]))) {
      this.pending.delete(u.unit);
      this.foldOne(u, this.plan.blocks[this.next[pb]].split);
      this.next[pb]++;
      moved = true;
    }
    if (moved && this.next[pb] === nb) this.onPairBlockDone?.(Math.min((pb + 1) * this.plan.unitSize, this.plan.pairs) - 1);
    return true;
  }

  private foldOne(u: UnitPartial, split: number): void {
    const t = this.totals[SPLIT_NAMES[split]];
    for (let i = 0, p = u.pairFrom; p < u.pairTo; i++, p++) {
      t.pnl[p] += u.pnl[i];
      t.trades[p] += u.trades[i];
      t.wins[p] += u.wins[i];
    }
    this.folded++;
  }
}

/** A simulation keeps every game's figures; the equity curve is their running total. */
export class SimulationCollect {
  readonly perGame: Totals;
  private readonly seen: Uint8Array;
  private filled = 0;

  constructor(private readonly plan: UnitPlan, games: number) {
    this.perGame = zeros(games);
    this.seen = new Uint8Array(plan.units);
  }

  get complete(): boolean {
    return this.filled === this.plan.units;
  }

  /** Returns false for a unit already collected. */
  add(p: UnitPartial): boolean {
    if (this.seen[p.unit]) return false;
    this.seen[p.unit] = 1;
    this.perGame.pnl.set(p.pnl, p.gameFrom);
    this.perGame.trades.set(p.trades, p.gameFrom);
    this.perGame.wins.set(p.wins, p.gameFrom);
    this.filled++;
    return true;
  }

  /** Running total in game order from 0. */
  equity(): Float64Array {
    const pnl = this.perGame.pnl;
    const out = new Float64Array(pnl.length);
    let s = 0;
    for (let g = 0; g < pnl.length; g++) out[g] = s += pnl[g];
    return out;
  }
}
