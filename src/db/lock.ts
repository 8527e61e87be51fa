// An exclusive lock on a PGlite data dir: PGlite is single-process, so a second daemon (or a
// direct `gridcast import`) must fail clearly instead of corrupting the files.
//
// The lock is flock(2) on `gridcast.lock`, reached through bun:ffi: the kernel drops it when its
// holder's last descriptor closes, which for a process killed with SIGKILL happens as it dies,
// before it is reaped. A pid check (kill(pid, 0)) still finds a zombie "alive", which refused a
// supervisor's immediate restart. The file also holds the holder's pid, for the refusal's message.
// Where flock cannot be reached (no libc to open, no ffi, a filesystem without locks) the pid file
// alone is the lock, as before, with zombies counted as dead where /proc shows them.
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";

export class DataDirInUse extends Error {
  constructor(public readonly pid: number, dir: string) {
    super(`the data dir ${dir} is in use by process ${pid} (stop it, or use --server to go through it)`);
    this.name = "DataDirInUse";
  }
}

export type LockMechanism = "flock" | "pidfile";

export interface DataDirLock {
  readonly mechanism: LockMechanism;
  release(): void;
}

const LOCK_FILE = "gridcast.lock";

// ---- flock through bun:ffi -----------------------------------------------------------------

interface Flock {
  /** 0 when taken, else the errno (EWOULDBLOCK: someone else holds it). */
  tryExclusive(fd: number): number;
  readonly wouldBlock: number;
}

const LOCK_EX = 2;
const LOCK_NB = 4;

/** Where libc lives and how it names errno's location, per platform (LOCK_* are the same on all). */
const LIBC: Partial<Record<NodeJS.Platform, { paths: string[]; errno: string; wouldBlock: number }>> = {
  linux: { paths: ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"], errno: "__errno_location", wouldBlock: 11 },
  darwin: { paths: ["libc.dylib", "/usr/lib/libSystem.B.dylib"], errno: "__error", wouldBlock: 35 },
  freebsd: { paths: ["libc.so.7"], errno: "__error", wouldBlock: 35 },
};

let flockCache: Flock | null | undefined;

function loadFlock(): Flock | null {
  if (flockCache !== undefined) return flockCache;
  flockCache = null;
  const libc = LIBC[process.platform];
  if (!libc) return null;
  let ffi: typeof import("bun:ffi");
  try {
    ffi = require("bun:ffi");
  } catch {
    return null; // a runtime without bun:ffi
  }
  const { dlopen, FFIType, read } = ffi;
  for (const path of libc.paths) {
    try {
      const lib = dlopen(path, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        [libc.errno]: { args: [], returns: FFIType.ptr },
      });
      const errnoAt = lib.symbols[libc.errno] as () => number | null;
      const flock = lib.symbols.flock as (fd: number, op: number) => number;
      flockCache = {
        wouldBlock: libc.wouldBlock,
        tryExclusive(fd) {
          if (flock(fd, LOCK_EX | LOCK_NB) === 0) return 0;
          const at = errnoAt();
          return at ? read.i32(at, 0) : -1;
        },
      };
      return flockCache;
    } catch {
      // not this file name (or no ffi compiler in this build): try the next, else the pid file
    }
  }
  return null;
}

/** Which mechanism lockDataDir uses here (the pid file only where flock cannot be reached). */
export function lockMechanism(): LockMechanism {
  return loadFlock() ? "flock" : "pidfile";
}

/** The pid a holder wrote; a holder between its flock and its write leaves it empty a moment. */
function holderPid(path: string): number {
  for (let i = 0; i < 50; i++) {
    try {
      const pid = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0) return pid;
    } catch {}
    Bun.sleepSync(2);
  }
  return 0;
}

function lockWithFlock(dir: string, flock: Flock): DataDirLock | "unsupported" {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 10; attempt++) {
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    const errno = flock.tryExclusive(fd);
    if (errno !== 0) {
      closeSync(fd);
      if (errno === flock.wouldBlock) throw new DataDirInUse(holderPid(path), dir);
      return "unsupported"; // e.g. ENOLCK on a filesystem without locks
    }
    // A holder releasing unlinks the file before it unlocks: if ours was unlinked meanwhile, the
    // lock we got guards nothing, and a newcomer would lock a new file. Lock the current one.
    const ours = fstatSync(fd);
    let current: ReturnType<typeof statSync> | undefined;
    try {
      current = statSync(path);
    } catch {}
    if (!current || current.ino !== ours.ino || current.dev !== ours.dev) {
      closeSync(fd);
      continue;
    }
    ftruncateSync(fd, 0);
    writeSync(fd, String(process.pid), 0);
    let released = false;
    return {
      mechanism: "flock",
      release() {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
        closeSync(fd); // drops the lock
      },
    };
  }
  throw new Error(`could not lock ${dir}: its lock file keeps being replaced`);
}

// ---- the pid file fallback -----------------------------------------------------------------

/** Whether pid is a live process; a zombie (killed, not yet reaped) is dead. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // The state follows the last ") " of /proc/PID/stat (the command name may hold parentheses).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(") ") + 2] !== "Z";
  } catch {
    return true; // no /proc here: kill(pid, 0) is all we know
  }
}

function lockWithPidFile(dir: string): DataDirLock {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        mechanism: "pidfile",
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

/**
 * Takes the lock or throws DataDirInUse naming the holder's pid. A lock left by a dead process
 * never blocks. `mechanism` forces one (tests of the fallback); by default flock where it works.
 */
export function lockDataDir(dir: string, options: { mechanism?: LockMechanism } = {}): DataDirLock {
  const flock = options.mechanism === "pidfile" ? null : loadFlock();
  if (flock) {
    const lock = lockWithFlock(dir, flock);
    if (lock !== "unsupported") return lock;
  }
  return lockWithPidFile(dir);
}
