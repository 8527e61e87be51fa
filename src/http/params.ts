// Readers for what a request carries in its URL (query numbers, path ids) and its body (game id
// lists): each checks once, at the edge, and answers a 422 naming the field and the rule, so
// nothing unchecked reaches the store.
import { invalid } from "../errors";
import { lookupIdProblem, quoteValue as shown } from "../games/ids";

// Decimal digits only: Number() would also take "0x10", "1e3", " 7 ", "Infinity" and "".
const INTEGER = /^-?\d{1,16}$/;

export interface IntRange {
  /** Used when the parameter is absent; an empty value is not absent. */
  def: number;
  min: number;
  max: number;
}

/** An integer query parameter in [min, max], written in plain decimal. */
export function intParam(value: unknown, name: string, range: IntRange): number {
  if (value === undefined) return range.def;
  const rule = `must be an integer from ${range.min} to ${range.max}`;
  // A repeated key arrives as an array: which one was meant is not ours to guess.
  if (typeof value !== "string" || !INTEGER.test(value)) throw invalid(`${name}: ${rule}, got ${shown(value)}`);
  const n = Number(value) + 0; // + 0 turns "-0" into 0
  if (n < range.min || n > range.max) throw invalid(`${name}: ${rule}, got ${value}`);
  return n;
}

/** A game id from a path or a body that names a stored game: refused only when no stored id
 *  could be it (README "Games"); otherwise the caller finds it or answers not found. */
export function gameIdParam(value: unknown, name: string): string {
  if (typeof value !== "string") throw invalid(`${name}: must be a game id (a string), got ${shown(value)}`);
  const problem = lookupIdProblem(value);
  if (problem) throw invalid(`${name}: game id ${shown(value)} ${problem}`);
  return value;
}
