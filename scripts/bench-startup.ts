// Prints the binary's size and the time from launching dist/gridcast to the first /health 200,
// on a new data dir and on an existing one (median of a few runs each). Run `npm run build` first.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = join(import.meta.dir, "../dist/gridcast");
const RUNS = Number(process.env.RUNS ?? 3);

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function launchToHealthy(dataDir: string): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = Bun.spawn([bin, "serve", "--port", String(port), "--data-dir", dataDir], {
    env: { ...process.env, DATABASE_URL: "" }, stdout: "ignore", stderr: "ignore",
  });
  try {
    const deadline = t0 + 30_000; // bounded: gives up after 30 s
    while (performance.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      if (res?.status === 200) return performance.now() - t0;
      await Bun.sleep(5);
    }
    throw new Error("the binary never answered /health 200");
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fresh: number[] = [];
const existing: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = join(mkdtempSync(join(tmpdir(), "gridcast-startup-")), "data");
  fresh.push(await launchToHealthy(dir));
  existing.push(await launchToHealthy(dir));
  rmSync(dir, { recursive: true, force: true });
}
console.log(`binary size:                    ${(statSync(bin).size / 1024 / 1024).toFixed(1)} MiB`);
console.log(`launch -> /health 200, new dir:      median ${median(fresh).toFixed(0)} ms  (runs: ${fresh.map((x) => x.toFixed(0)).join(", ")})`);
console.log(`launch -> /health 200, existing dir: median ${median(existing).toFixed(0)} ms  (runs: ${existing.map((x) => x.toFixed(0)).join(", ")})`);
