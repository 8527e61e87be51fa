// Ticks are stored as packed little-endian float64 arrays (a Float64Array's own bytes), so a game
// loads into compute with one copy and no parsing.
export function packFloat64(values: Float64Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Copies when the driver hands back bytes at an offset that is not 8-byte aligned. */
export function unpackFloat64(bytes: Uint8Array): Float64Array {
  if (bytes.byteLength % 8 !== 0) throw new Error(`packed float64 array of ${bytes.byteLength} bytes`);
  if (bytes.byteOffset % 8 === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  return new Float64Array(bytes.slice().buffer);
}

/** Packed little-endian uint16 (a Uint16Array's own bytes), as unpackFloat64 reads float64: copies when unaligned. */
export function unpackUint16(bytes: Uint8Array): Uint16Array {
  if (bytes.byteLength % 2 !== 0) throw new Error(`packed uint16 array of ${bytes.byteLength} bytes`);
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return new Uint16Array(bytes.slice().buffer);
}
