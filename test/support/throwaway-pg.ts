// A PostgreSQL server of the test's own (initdb + pg_ctl in a temp dir on a free loopback port,
// as the `postgres` user when we are root: initdb refuses root), to stop and freeze at will:
// never the shared dev server. `throwawayPostgres()` is undefined where initdb is absent; tests
// skip with a message then.
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ThrowawayPostgres {
  url: string;
  /** `pg_ctl stop -m immediate`: every backend killed, no shutdown checkpoint (a crash). */
  kill(): void;
  /** Starts it again on the same port and data (crash recovery first); resolves once it accepts. */
  start(): void;
  /** SIGSTOP to the postmaster and all its children: connections stay open and nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Stops it (thawed first) and removes its files. */
  destroy(): void;
}

function pgBin(): string | undefined {
  const dirs = ["/usr/local/bin", "/usr/bin", ...(existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").map((v) => `/usr/lib/postgresql/${v}/bin`) : [])];
  return dirs.find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl")));
}

/** Why throwawayPostgres() would be undefined here, or undefined when it can run. */
export function throwawayUnavailable(): string | undefined {
  return pgBin() ? undefined : "initdb/pg_ctl not found: the PostgreSQL outage tests are skipped";
}

export function throwawayPostgres(): ThrowawayPostgres | undefined {
  const bin = pgBin();
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "gridcast-test-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim()) : undefined;
  if (asRoot && uid) chownSync(dir, uid, uid);
  const run = (args: string[]) => {
    const r = Bun.spawnSync(asRoot ? ["runuser", "-u", "postgres", "--", ...args] : args, { stdout: "ignore", stderr: "pipe" });
    return { ok: r.exitCode === 0, err: r.stderr.toString() };
  };
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  const init = run([join(bin, "initdb"), "-D", data, "-U", "gridcast", "--auth=trust", "-E", "UTF8"]);
  if (!init.ok) throw new Error(`initdb failed: ${init.err}`);
  const start = () => {
    const r = run([join(bin, "pg_ctl"), "-D", data, "-l", join(dir, "pg.log"), "-w", "-o",
      // fsync off is safe against a killed server (the kernel keeps what was written); an
      // asynchronous commit is not: `stop -m immediate` would lose acknowledged transactions.
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`, "start"]);
    if (!r.ok) throw new Error(`pg_ctl start failed: ${r.err}`);
  };
  const pids = (): number[] => {
    // The postmaster's pid is the first line of postmaster.pid; its children are the backends.
    const file = join(data, "postmaster.pid");
    if (!existsSync(file)) return [];
    const main = Number(readFileSync(file, "utf8").split("\n")[0]);
    const kids = Bun.spawnSync(["pgrep", "-P", String(main)]).stdout.toString().split("\n").filter(Boolean).map(Number);
    return [main, ...kids];
  };
  const signal = (sig: "SIGSTOP" | "SIGCONT") => {
    for (const pid of pids()) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  };
  start();
  return {
    url: `postgres://gridcast@127.0.0.1:${port}/postgres`,
    kill: () => {
      run([join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]);
    },
    start,
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
    destroy: () => {
      signal("SIGCONT");
      run([join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
