// The parameter grid of a sweep: its values, its (entry, exit) pairs, and the checks that
// turn an untrusted request (JSON body or query string) into a resolved GridParams.
// Semantics follow strategy.md, "Grid search".

/** A request that breaks a rule; `field` names the parameter, the message says the rule. */
export class ParamError extends Error {
  readonly field: string;
  constructor(field: string, rule: string) {
    super(`${field}: ${rule}`);
    this.name = "ParamError";
    this.field = field;
  }
}

export interface GridParams {
  entry_start: number;
  entry_stop: number;
  entry_step: number;
  exit_start: number;
  exit_stop: number;
  exit_step: number;
  fee: number;
  train_fraction: number;
  valid_fraction: number;
}

export interface SimulationParams {
  entry: number;
  exit: number;
  fee: number;
}

/** Round half away from zero at 9 decimals, so 0.1 + 0.2 reads 0.3. Scale, round, unscale is
 *  numpy's np.round too, so a reference lands on the same doubles (it breaks exact ties to
 *  even, which no grid value a + k*d at sensible steps comes near). */
export function round9(v: number): number {
  const r = Math.round(Math.abs(v) * 1e9) / 1e9;
  return v < 0 ? -r : r;
}

/** How many values a..b step d holds; the 1e-9 keeps an inclusive stop that float error
 *  would put a hair past the last step (0.04 / 0.01 = 3.9999...) on the grid. */
export function axisCount(a: number, b: number, d: number): number {
  const n = Math.floor((b - a) / d + 1e-9) + 1;
  return n > 0 ? n : 0;
}

export function gridValues(start: number, stop: number, step: number): number[] {
  const n = axisCount(start, stop, step);
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) out[k] = round9(start + k * step);
  return out;
}

/** One axis of the grid, read without materialising it: value k and rank queries. */
class Axis {
  readonly n: number;
  constructor(readonly start: number, stop: number, readonly step: number) {
    this.n = axisCount(start, stop, step);
  }

  value(k: number): number {
    return round9(this.start + k * this.step);
  }

  /** How many values are < v (or <= v), in O(1): a closed-form guess, nudged across the one
   *  or two values that rounding put on the other side. Values ascend, so this is a rank. */
  below(v: number, orEqual: boolean): number {
    const { n } = this;
    const past = (k: number) => (orEqual ? this.value(k) > v : this.value(k) >= v);
    if (n === 0 || !past(n - 1)) return n;
    let k = Math.min(Math.max(Math.ceil((v - this.start) / this.step), 0), n - 1);
    while (k > 0 && past(k - 1)) k--;
    while (k < n && !past(k)) k++;
    return k;
  }
}

function axes(p: GridParams) {
  return {
    entry: new Axis(p.entry_start, p.entry_stop, p.entry_step),
    exit: new Axis(p.exit_start, p.exit_stop, p.exit_step),
  };
}

/** Every (e, x) with x < e, ordered by entry then exit. Values are made on the fly rather
 *  than as two axis arrays: an axis may be long where few of its values form pairs. */
export function gridPairs(p: GridParams): { entries: Float64Array; exits: Float64Array } {
  const { entry, exit } = axes(p);
  const total = countPairs(p);
  const entries = new Float64Array(total);
  const exits = new Float64Array(total);
  let k = 0;
  // Entries at or below the smallest exit have no pair: start past them.
  for (let i = exit.n === 0 ? entry.n : entry.below(exit.value(0), true); i < entry.n; i++) {
    const e = entry.value(i);
    const below = exit.below(e, false);
    for (let j = 0; j < below; j++) {
      entries[k] = e;
      exits[k] = exit.value(j);
      k++;
    }
  }
  return { entries, exits };
}

/** Pair count without building the grid, so a huge request is refused before it allocates.
 *  Walks the shorter axis, skipping values with no partner, so every step adds at least one
 *  pair: the work is bounded by min(entries, exits, limit), however fine the steps. Past
 *  `limit` it stops and returns a count that is only known to exceed the limit. */
export function countPairs(p: GridParams, limit = Infinity): number {
  const { entry, exit } = axes(p);
  if (entry.n === 0 || exit.n === 0) return 0;
  let total = 0;
  if (entry.n <= exit.n) {
    for (let i = entry.below(exit.value(0), true); i < entry.n && total <= limit; i++) {
      total += exit.below(entry.value(i), false);
    }
  } else {
    // Exits ascend, so the first one with no entry above it ends the walk.
    for (let j = 0; j < exit.n && total <= limit; j++) {
      const above = entry.n - entry.below(exit.value(j), true);
      if (above === 0) break;
      total += above;
    }
  }
  return total;
}

export function formatCombo(entry: number, exit: number): string {
  return `entry=${entry.toFixed(3)}, exit=${exit.toFixed(3)}`;
}

// Plain decimal or exponent notation only: Number() alone would also take "", " ", "0x1f".
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite number from a number or a numeric string (query strings arrive as text). Absent
 *  (or JSON null) takes the fallback; an empty string is not absent but a value that is no number. */
function readNumber(src: Record<string, unknown>, field: string, fallback?: number): number {
  const v = src[field];
  if (v === undefined || v === null || (v === "" && fallback === undefined)) {
    if (fallback === undefined) throw new ParamError(field, "is required");
    return fallback;
  }
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && NUMERIC.test(v.trim())) n = Number(v.trim());
  else throw new ParamError(field, `must be a number, got ${JSON.stringify(v)}`);
  if (!Number.isFinite(n)) throw new ParamError(field, `must be a finite number, got ${String(v)}`);
  return n;
}

function asRecord(input: unknown): Record<string, unknown> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ParamError("params", "must be an object");
  }
  return input as Record<string, unknown>;
}

function checkUnit(field: string, v: number): void {
  if (v < 0 || v > 1) throw new ParamError(field, "must be within [0, 1]");
}

function readAxis(src: Record<string, unknown>, name: "entry" | "exit") {
  const start = readNumber(src, `${name}_start`);
  const stop = readNumber(src, `${name}_stop`);
  const step = readNumber(src, `${name}_step`);
  checkUnit(`${name}_start`, start);
  checkUnit(`${name}_stop`, stop);
  // Spec: e > 0. Every entry value is >= entry_start, so checking the start suffices.
  if (name === "entry" && start <= 0) throw new ParamError("entry_start", "must be > 0");
  if (step <= 0) throw new ParamError(`${name}_step`, "must be > 0");
  // Values are rounded to 9 decimals: a finer step would repeat values (and pairs).
  if (step < 1e-9) throw new ParamError(`${name}_step`, "must be >= 0.000000001");
  if (stop < start) throw new ParamError(`${name}_stop`, `must be >= ${name}_start`);
  return { start, stop, step };
}

/** Prices are in [0, 1], so a fee above 1 per side costs more than any trade can make; bounding
 *  it keeps every P&L finite (1e308 would sum to -Infinity, stored as null). */
export const MAX_FEE = 1;

function readFee(src: Record<string, unknown>): number {
  const fee = readNumber(src, "fee", 0);
  if (fee < 0) throw new ParamError("fee", "must be >= 0");
  if (fee > MAX_FEE) throw new ParamError("fee", `must be <= ${MAX_FEE} (prices are in [0, 1])`);
  return fee;
}

/** Check a sweep request once, at the edge, into a resolved GridParams (defaults filled in). */
export function validateGridParams(input: unknown, maxPairs: number): GridParams {
  const src = asRecord(input);
  const entry = readAxis(src, "entry");
  const exit = readAxis(src, "exit");
  const fee = readFee(src);
  const train = readNumber(src, "train_fraction", 0.6);
  const valid = readNumber(src, "valid_fraction", 0.2);
  checkUnit("train_fraction", train);
  checkUnit("valid_fraction", valid);
  // Tolerance so 0.7 + 0.3 style sums that float arithmetic lifts past 1 are still accepted.
  if (train + valid > 1 + 1e-9) {
    throw new ParamError("valid_fraction", "train_fraction + valid_fraction must be <= 1");
  }
  const p: GridParams = {
    entry_start: entry.start, entry_stop: entry.stop, entry_step: entry.step,
    exit_start: exit.start, exit_stop: exit.stop, exit_step: exit.step,
    fee, train_fraction: train, valid_fraction: valid,
  };
  // Counting exactly up to 4x the maximum keeps the message useful for near misses while
  // bounding the work on absurd grids; past the cap the message says "more than".
  const cap = 4 * maxPairs;
  const pairs = countPairs(p, cap);
  if (pairs === 0) throw new ParamError("grid", "no pair with exit < entry");
  if (pairs > maxPairs) {
    const count = pairs > cap ? `more than ${cap}` : `${pairs}`;
    throw new ParamError("grid", `${count} pairs exceeds the maximum of ${maxPairs}`);
  }
  return p;
}

/** Check a simulation request: one pair with 0 < entry <= 1, 0 <= exit < entry, 0 <= fee <= 1. */
export function validateSimulationParams(input: unknown): SimulationParams {
  const src = asRecord(input);
  const entry = readNumber(src, "entry");
  const exit = readNumber(src, "exit");
  checkUnit("entry", entry);
  if (entry <= 0) throw new ParamError("entry", "must be > 0");
  checkUnit("exit", exit);
  if (exit >= entry) throw new ParamError("exit", "must be < entry");
  return { entry, exit, fee: readFee(src) };
}
