// A temporary file for an import's rows past its memory budget: per-game chunks appended as raw
// typed-array bytes, with an in-memory index (offset, length) per chunk, read back game by game.
// Local disk, no database round trip, and no text encoding of the numbers.
import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Chunk { t: Float64Array; price: Float64Array; fair: Float64Array; line: Uint32Array }

export class SpillFile {
  private readonly path = join(tmpdir(), `gridcast-import-${process.pid}-${crypto.randomUUID()}.bin`);
  private readonly fd = openSync(this.path, "w+", 0o600);
  private readonly index = new Map<string, { offset: number; n: number }[]>();
  private size = 0;

  append(id: string, c: Chunk): void {
    const n = c.t.length;
    for (const a of [c.t, c.price, c.fair, c.line]) {
      writeSync(this.fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength), 0, a.byteLength, this.size);
      this.size += a.byteLength;
    }
    let list = this.index.get(id);
    if (!list) this.index.set(id, (list = []));
    list.push({ offset: this.size - 28 * n, n });
  }

  /** The game's spilled chunks, in the order they were appended. */
  read(id: string): Chunk[] {
    return (this.index.get(id) ?? []).map(({ offset, n }) => {
      const buf = new ArrayBuffer(28 * n);
      readSync(this.fd, new Uint8Array(buf), 0, 28 * n, offset);
      return {
        t: new Float64Array(buf, 0, n),
        price: new Float64Array(buf, 8 * n, n),
        fair: new Float64Array(buf, 16 * n, n),
        line: new Uint32Array(buf, 24 * n, n),
      };
    });
  }

  close(): void {
    closeSync(this.fd);
    rmSync(this.path, { force: true });
  }
}
