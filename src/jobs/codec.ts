// A finished unit's partial sums as bytes for the job_units table (and back): five int32 bounds,
// then pnl, trades and wins as float64 arrays. Exact: a resumed job folds the very same numbers.
import type { UnitPartial } from "../compute/units";

const HEADER = 5 * 4;
const PAD = 8 - (HEADER % 8); // keep the float64 arrays 8-byte aligned

export function encodeUnit(p: UnitPartial): Uint8Array {
  const n = p.pnl.length;
  const buf = new ArrayBuffer(HEADER + PAD + 3 * 8 * n);
  new Int32Array(buf, 0, 5).set([p.unit, p.pairFrom, p.pairTo, p.gameFrom, p.gameTo]);
  const f = new Float64Array(buf, HEADER + PAD, 3 * n);
  f.set(p.pnl, 0);
  f.set(p.trades, n);
  f.set(p.wins, 2 * n);
  return new Uint8Array(buf);
}

export function decodeUnit(bytes: Uint8Array): UnitPartial {
  const buf = bytes.slice().buffer; // aligned copy: drivers hand back views at any offset
  const [unit, pairFrom, pairTo, gameFrom, gameTo] = new Int32Array(buf, 0, 5);
  const n = (buf.byteLength - HEADER - PAD) / 24;
  const f = new Float64Array(buf, HEADER + PAD, 3 * n);
  return { unit, pairFrom, pairTo, gameFrom, gameTo, pnl: f.slice(0, n), trades: f.slice(n, 2 * n), wins: f.slice(2 * n) };
}
