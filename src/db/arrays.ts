// PostgreSQL array literals: how a column of many rows travels as ONE bound parameter, which
// unnest() spreads back into rows. A statement then has a parameter per column, not per value:
// drizzle's multi-row values() builds and binds every value, and that, not the database, was
// most of the time of a big insert (job results, live ticks, strategy states, signals).
// Plain text literals, so the same SQL runs on postgres.js and PGlite.

type NumberColumn = Float64Array | readonly number[];

/** Round-trip exact, as String() prints a number, and -0 keeps its sign (String(-0) is "0"). */
const numberText = (v: number) => (v === 0 && 1 / v < 0 ? "-0" : String(v));

/** Numbers (cast with ::float8[] or ::int[]); rows [from, to). */
export function numbers(a: NumberColumn, from = 0, to = a.length): string {
  const part = a instanceof Float64Array ? a.subarray(from, to) : a.slice(from, to);
  let out = "{";
  for (let i = 0; i < part.length; i++) out += (i > 0 ? "," : "") + numberText(part[i]);
  return `${out}}`;
}

/** Numbers or nulls (an unquoted NULL is the SQL null). */
export function nullableNumbers(a: readonly (number | null)[], from = 0, to = a.length): string {
  return `{${a.slice(from, to).map((v) => (v === null ? "NULL" : numberText(v))).join(",")}}`;
}

/**
 * Text, every element quoted: inside quotes only `"` and `\` need a backslash, while commas,
 * braces, spaces, the word NULL and any Unicode stand as they are. NUL cannot be held by a
 * text value at all (the game id rule refuses it, games/ids.ts).
 */
export function texts(a: readonly string[], from = 0, to = a.length): string {
  return `{${a.slice(from, to).map((s) => (s.indexOf('"') < 0 && s.indexOf("\\") < 0 ? `"${s}"` : `"${s.replace(/["\\]/g, "\\$&")}"`)).join(",")}}`;
}

/**
 * Packed little-endian numbers (games/packed.ts: float64, uint16, bytes) as base64 text, for
 * `decode(x, 'base64')` on the server: a column of numbers crosses as bytes, nothing printed or
 * parsed, in two thirds of the characters hex takes.
 */
export function packedText(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}
