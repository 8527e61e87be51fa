// A throwaway PostgreSQL for benchmarks: DATABASE_URL when set, else initdb + pg_ctl on a free
// loopback port in a temp dir (run as the `postgres` user when we are root: initdb refuses root).
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function pgBin(): string | undefined {
  const dirs = ["/usr/local/bin", ...(existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").map((v) => `/usr/lib/postgresql/${v}/bin`) : [])];
  return dirs.find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl")));
}

export async function throwawayPostgres(): Promise<{ url: string; stop(): void } | undefined> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop() {} };
  const bin = pgBin();
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "gridcast-bench-pg-"));
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim()) : undefined;
  if (asRoot && uid) chownSync(dir, uid, uid);
  const run = (args: string[]) => Bun.spawnSync(asRoot ? ["runuser", "-u", "postgres", "--", ...args] : args, { stdout: "ignore", stderr: "pipe" });
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  if (run([join(bin, "initdb"), "-D", join(dir, "data"), "-U", "gridcast", "--auth=trust", "-E", "UTF8"]).exitCode !== 0) return undefined;
  const start = run([join(bin, "pg_ctl"), "-D", join(dir, "data"), "-l", join(dir, "pg.log"), "-w", "-o",
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off`, "start"]);
  if (start.exitCode !== 0) return undefined;
  return {
    url: `postgres://gridcast@127.0.0.1:${port}/postgres`,
    stop() {
      run([join(bin, "pg_ctl"), "-D", join(dir, "data"), "-m", "immediate", "stop"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
