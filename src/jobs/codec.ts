// A finished unit's partial sums as bytes for the job_units table (and back): five int32 bounds
// and a format word, then pnl as float64, then trades and wins as int32 (they are counts, at
// most the unit's ticks, < 2^31). Exact: a resumed job, or the node that owns it, folds the very
// same numbers. Every unit crosses the database once or twice (stored, and read back by the
// owner when a helper made it), so the counts go as 4 bytes, not 8: a third fewer bytes a unit.
// Format 0 (counts as float64) was written by older versions and is still read.
import type { UnitPartial } from "../compute/units";

const HEADER = 6 * 4; // unit, pairFrom, pairTo, gameFrom, gameTo, format: keeps pnl 8-byte aligned
const FLOAT_COUNTS = 0;
const INT_COUNTS = 1;

export function encodeUnit(p: UnitPartial): Uint8Array {
  const n = p.pnl.length;
  const format = fitsInt32(p.trades) && fitsInt32(p.wins) ? INT_COUNTS : FLOAT_COUNTS;
  const buf = new ArrayBuffer(HEADER + n * (format === INT_COUNTS ? 16 : 24));
  new Int32Array(buf, 0, 6).set([p.unit, p.pairFrom, p.pairTo, p.gameFrom, p.gameTo, format]);
  new Float64Array(buf, HEADER, n).set(p.pnl);
  const Counts = format === INT_COUNTS ? Int32Array : Float64Array;
  const width = Counts.BYTES_PER_ELEMENT;
  new Counts(buf, HEADER + 8 * n, n).set(p.trades);
  new Counts(buf, HEADER + (8 + width) * n, n).set(p.wins);
  return new Uint8Array(buf);
}

export function decodeUnit(bytes: Uint8Array): UnitPartial {
  const buf = bytes.slice().buffer; // aligned copy: drivers hand back views at any offset
  const [unit, pairFrom, pairTo, gameFrom, gameTo, format] = new Int32Array(buf, 0, 6);
  if (format !== FLOAT_COUNTS && format !== INT_COUNTS) throw new Error(`unit ${unit}: unknown payload format ${format}`);
  const Counts = format === INT_COUNTS ? Int32Array : Float64Array;
  const width = Counts.BYTES_PER_ELEMENT;
  const n = (buf.byteLength - HEADER) / (8 + 2 * width);
  if (!Number.isInteger(n)) throw new Error(`unit ${unit}: payload of ${bytes.byteLength} bytes is cut short`);
  return {
    unit, pairFrom, pairTo, gameFrom, gameTo,
    pnl: new Float64Array(buf, HEADER, n),
    trades: Float64Array.from(new Counts(buf, HEADER + 8 * n, n)),
    wins: Float64Array.from(new Counts(buf, HEADER + (8 + width) * n, n)),
  };
}

function fitsInt32(xs: Float64Array): boolean {
  for (let i = 0; i < xs.length; i++) if (!Object.is(xs[i]! | 0, xs[i])) return false; // -0 too: bit for bit
  return true;
}
