// Free disk space under what gridcast writes, checked before it writes. PGlite's WASM PostgreSQL
// must never meet ENOSPC: once a WAL segment cannot be created, its next query spins inside the
// WASM forever, which blocks the event loop (no /health, no SIGTERM, nothing logged). So writes
// are refused with `disk_full` while they would leave less than a floor free, and ENOSPC from
// anywhere else (PostgreSQL's 53100, a temporary file) is reported as the same error.
import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { DomainError, isDiskFull } from "../errors";

/** The fields of fs.statfsSync that matter here; tests inject a fake to fill the disk. */
export type StatFs = (path: string) => { bavail: number | bigint; bsize: number | bigint; blocks: number | bigint };

/**
 * Two levels: a bulk write (an import) must leave the floor free; any row write (an import's
 * bookkeeping, a job's results, a delete) only half of it, so a write that just passed the
 * import check still goes through. Half the floor must hold a whole WAL segment (16 MiB), which
 * PGlite creates at once when the last one fills (the setting refuses a floor under 48 MiB).
 */
export const DEFAULT_MIN_FREE_DISK_BYTES = 64 * 1024 ** 2;

/**
 * Disk an import of `ticks` ticks takes on PGlite: about 56 bytes a tick were measured (the
 * packed arrays, TOAST and their WAL), rounded up.
 */
export const importBytes = (ticks: number, games: number) => ticks * 64 + games * 512;

export interface DiskReport {
  healthy: boolean;
  path: string;
  free_bytes?: number;
  total_bytes?: number;
  min_free_bytes: number;
  error?: string;
}

export class DiskGuard {
  constructor(
    readonly path: string,
    readonly minFreeBytes: number = DEFAULT_MIN_FREE_DISK_BYTES,
    private readonly statfs: StatFs = statfsSync,
  ) {}

  /** The same floor (and statfs) for another path, e.g. the temporary files' disk. */
  forPath(path: string): DiskGuard {
    return new DiskGuard(path, this.minFreeBytes, this.statfs);
  }

  /** Free and total bytes of the filesystem holding `path` (its nearest existing parent). */
  space(): { free: number; total: number } {
    for (let p = this.path; ; p = dirname(p)) {
      try {
        const s = this.statfs(p);
        return { free: Number(s.bavail) * Number(s.bsize), total: Number(s.blocks) * Number(s.bsize) };
      } catch (err) {
        if ((err as { code?: string }).code !== "ENOENT" || dirname(p) === p) throw err;
      }
    }
  }

  /** Throws disk_full unless `bytes` more still leave the floor free; `what` names the write. */
  reserve(bytes: number, what: string): void {
    const { free } = this.space();
    if (free - bytes >= this.minFreeBytes) return;
    throw new DomainError("disk_full",
      `not enough disk space: ${what} needs about ${mib(bytes)}, ${mib(free)} free on ${this.path}, and gridcast keeps ` +
      `${mib(this.minFreeBytes)} free (--min-free-disk-bytes); free some space and retry`);
  }

  /** Throws disk_full while less than half the floor is free: the last line before ENOSPC. */
  checkWrite(what: string): void {
    const { free } = this.space();
    if (free >= this.minFreeBytes / 2) return;
    throw new DomainError("disk_full",
      `not enough disk space for ${what}: ${mib(free)} free on ${this.path}, under half of the ${mib(this.minFreeBytes)} ` +
      "gridcast keeps free (--min-free-disk-bytes); free some space and retry");
  }

  report(): DiskReport {
    try {
      const { free, total } = this.space();
      return { healthy: free >= this.minFreeBytes, path: this.path, free_bytes: free, total_bytes: total, min_free_bytes: this.minFreeBytes };
    } catch (err) {
      return { healthy: false, path: this.path, min_free_bytes: this.minFreeBytes, error: (err as Error).message };
    }
  }
}

/** A disk-full failure of any driver or file as the one disk_full error; anything else as is. */
export function asDiskFull(err: unknown, where: string): unknown {
  // A refusal of DiskGuard comes back wrapped by drizzle (DrizzleQueryError, cause: ours).
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DomainError) return e.code === "disk_full" ? e : err;
  }
  if (!isDiskFull(err)) return err;
  return new DomainError("disk_full", `no space left on device: ${where} failed (${rootMessage(err)}); nothing was stored`);
}

export function rootMessage(err: unknown): string {
  let e = err as { cause?: unknown; message?: string };
  // drizzle wraps the driver's error (its message is the whole query); the driver's says why.
  while (e?.cause && typeof (e.cause as { message?: unknown }).message === "string") e = e.cause as typeof e;
  return String(e?.message ?? err).slice(0, 300);
}

const mib = (n: number) => (n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);
