// The data dir lock: held by the operating system for as long as its process lives, so a restart
// right after kill -9 works (before the dead daemon is reaped), while a live holder, a second
// daemon or a direct `gridcast import`, is refused with the holder's pid.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataDirInUse, lockDataDir, lockMechanism } from "../../src/db/lock";
import { launchDaemon, waitHealthy, type Daemon } from "../support/daemon";
import { eventually } from "../support/eventually";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const freshDir = (name: string) => join(mkdtempSync(join(tmpdir(), `gridcast-lock-${name}-`)), "data");

/**
 * A daemon whose parent never reaps it: `sh` starts it in the background and becomes `sleep`, which
 * never calls wait(). Killed with SIGKILL, it stays a zombie until the sleep ends, which is what a
 * supervisor's immediate restart meets while the kernel has not reaped the old process yet.
 */
async function unreapedDaemon(dataDir: string): Promise<{ pid: number; url: string; parent: ReturnType<typeof Bun.spawn> }> {
  const cmd = `"$0" "$@" 2>&1 & echo "pid $!"; exec sleep 60`;
  const parent = Bun.spawn(["sh", "-c", cmd, process.execPath, MAIN, "serve", "--port", "0", "--data-dir", dataDir, "--log-format", "json"], {
    env: { ...process.env, DATABASE_URL: "" }, stdout: "pipe", stderr: "ignore",
  });
  let text = "";
  const reader = (parent.stdout as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  const found = await eventually(async () => {
    const { value, done } = await reader.read();
    if (value) text += dec.decode(value, { stream: true });
    const pid = /^pid (\d+)$/m.exec(text)?.[1];
    const url = /"msg":"listening","url":"([^"]+)"/.exec(text)?.[1];
    if (pid && url) return { pid: Number(pid), url };
    return done ? { ended: text } : undefined;
  }, { timeoutMs: 30_000, what: "the unreaped daemon's pid and listening line" });
  reader.releaseLock();
  if ("ended" in found) throw new Error(`the daemon ended before listening: ${found.ended}`);
  return { ...found, parent };
}

/** The state letter of /proc/PID/stat (`Z` for a zombie), or "gone". */
const processState = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
  } catch {
    return "gone";
  }
};

describe("data dir lock", () => {
  test("the lock is the operating system's on this platform (not the pid file fallback)", () => {
    if (process.platform === "linux") expect(lockMechanism()).toBe("flock");
  });

  test("a second holder is refused with the first's pid while it lives, and the lock is free once released", () => {
    const dir = mkdtempSync(join(tmpdir(), "gridcast-lock-"));
    const first = lockDataDir(dir);
    let refused: unknown;
    try {
      lockDataDir(dir);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(DataDirInUse);
    expect((refused as DataDirInUse).pid).toBe(process.pid);
    expect((refused as Error).message).toContain(`is in use by process ${process.pid}`);
    first.release();
    first.release(); // twice is harmless
    lockDataDir(dir).release();
  });

  test("a lock file left by a dead process (its pid still written in it) does not block", () => {
    const dir = mkdtempSync(join(tmpdir(), "gridcast-lock-"));
    writeFileSync(join(dir, "gridcast.lock"), "1"); // pid 1 is alive, but holds no lock on the file
    lockDataDir(dir).release();
  });

  test("the pid file fallback refuses a live pid and takes over a dead one's", () => {
    const dir = mkdtempSync(join(tmpdir(), "gridcast-lock-"));
    writeFileSync(join(dir, "gridcast.lock"), "1");
    expect(() => lockDataDir(dir, { mechanism: "pidfile" })).toThrow(DataDirInUse);
    writeFileSync(join(dir, "gridcast.lock"), "2147483646");
    lockDataDir(dir, { mechanism: "pidfile" }).release();
  });

  test("a daemon killed with SIGKILL is replaced at once, before the dead process is reaped", async () => {
    const dir = freshDir("kill9");
    const first = await unreapedDaemon(dir);
    let second: Daemon | undefined;
    try {
      await waitHealthy(first.url);
      process.kill(first.pid, "SIGKILL");
      // The restart meets a zombie, not a missing process: what the pid file check mistook for a holder.
      await eventually(() => processState(first.pid) === "Z", { what: "the killed daemon to be a zombie" });
      second = await launchDaemon(dir);
      await waitHealthy(second.url);
      expect(second.lines.join("\n")).not.toContain("in use by process");
      expect(processState(first.pid)).toBe("Z"); // still unreaped while the new daemon serves
      expect((await fetch(`${second.url}/health`)).status).toBe(200);
    } finally {
      first.parent.kill("SIGKILL");
      second?.proc.kill("SIGTERM");
      await second?.proc.exited;
      await first.parent.exited;
    }
  }, 90_000);

  test("a second daemon on a live one's data dir stops with exit code 2, naming the holder's pid", async () => {
    const dir = freshDir("second");
    const first = await launchDaemon(dir);
    try {
      await waitHealthy(first.url);
      const second = await launchDaemon(dir);
      expect(await second.proc.exited).toBe(2);
      await second.pump;
      expect(second.lines.join("\n")).toContain(`is in use by process ${first.proc.pid}`);
      expect((await fetch(`${first.url}/health`)).status).toBe(200); // the holder is untouched
    } finally {
      first.proc.kill("SIGTERM");
      await first.proc.exited;
    }
  }, 90_000);

  test("`gridcast import` without --server is refused while a daemon holds the data dir", async () => {
    const dir = freshDir("import");
    const file = join(dir, "..", "games.csv");
    writeFileSync(file, "game_id,t,price,fair,outcome\ng1,1,0.5,0.5,1\n");
    const daemon = await launchDaemon(dir);
    try {
      await waitHealthy(daemon.url);
      const p = Bun.spawn([process.execPath, MAIN, "import", file, "--data-dir", dir], { env: { ...process.env, DATABASE_URL: "" }, stdout: "pipe", stderr: "pipe" });
      const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      expect(code).toBe(2);
      expect(err).toContain(`is in use by process ${daemon.proc.pid}`);
      expect(err).toContain("--server");
      const games = await (await fetch(`${daemon.url}/api/games`)).json();
      expect(games.games).toEqual([]); // nothing was written behind the daemon's back
    } finally {
      daemon.proc.kill("SIGTERM");
      await daemon.proc.exited;
    }
  }, 90_000);
});
