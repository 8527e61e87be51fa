// A temporary file for an import's rows past its memory budget: per-game chunks appended as raw
// typed-array bytes, with an in-memory index (offset, length) per chunk, read back game by game.
// Local disk, no database round trip, and no text encoding of the numbers. A full disk is the
// import's disk_full error (src/db/disk.ts), never an unexplained failure.
import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asDiskFull, type DiskGuard } from "../db/disk";

export interface Chunk { t: Float64Array; price: Float64Array; fair: Float64Array; line: Uint32Array }

/** Bytes a tick takes in the spill file: t, price and fair as float64, its line as uint32. */
export const SPILL_TICK_BYTES = 28;

export class SpillFile {
  static readonly dir = tmpdir();
  private readonly path = join(SpillFile.dir, `gridcast-import-${process.pid}-${crypto.randomUUID()}.bin`);
  private readonly fd = openSync(this.path, "w+", 0o600);
  private readonly index = new Map<string, { offset: number; n: number }[]>();
  private size = 0;

  /** `disk`: the floor kept on the temporary files' disk (they may share the data dir's). */
  constructor(private readonly disk?: DiskGuard) {}

  /** Refuses (disk_full) before writing `ticks` more if they would go below the floor. */
  reserve(ticks: number): void {
    this.disk?.reserve(ticks * SPILL_TICK_BYTES, "the import's temporary file");
  }

  append(id: string, c: Chunk): void {
    const n = c.t.length;
    for (const a of [c.t, c.price, c.fair, c.line]) {
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      try {
        // A nearly full disk can take part of a write and refuse the rest on the next call.
        for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done, this.size + done);
      } catch (err) {
        throw asDiskFull(err, `writing the import's temporary file in ${SpillFile.dir}`);
      }
      this.size += a.byteLength;
    }
    let list = this.index.get(id);
    if (!list) this.index.set(id, (list = []));
    list.push({ offset: this.size - SPILL_TICK_BYTES * n, n });
  }

  /** The game's spilled chunks, in the order they were appended. */
  read(id: string): Chunk[] {
    return (this.index.get(id) ?? []).map(({ offset, n }) => {
      const buf = new ArrayBuffer(SPILL_TICK_BYTES * n);
      readSync(this.fd, new Uint8Array(buf), 0, SPILL_TICK_BYTES * n, offset);
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
