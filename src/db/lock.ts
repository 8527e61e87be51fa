// An exclusive lock on a PGlite data dir: PGlite is single-process, so a second daemon (or a
// direct `gridcast import`) must fail clearly instead of corrupting the files.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

export class DataDirInUse extends Error {
  constructor(public readonly pid: number, dir: string) {
    super(`the data dir ${dir} is in use by process ${pid} (stop it, or use --server to go through it)`);
    this.name = "DataDirInUse";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock or throws DataDirInUse; a lock left by a dead process is taken over. */
export function lockDataDir(dir: string): { release(): void } {
  const path = join(dir, "gridcast.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new DataDirInUse(pid, dir);
      rmSync(path, { force: true }); // stale: its owner is gone (e.g. after kill -9)
    }
  }
  throw new Error(`could not lock ${dir}`);
}
