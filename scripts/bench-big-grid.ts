// Does a big grid freeze the daemon? A real daemon (child process) on PGlite and, when
// DATABASE_URL is set, on PostgreSQL: one demo game, a 500,500-pair grid (entry 0.001..1 and exit
// 0..0.999, both step 0.001), then its results fetched. Meanwhile /health is polled every 50 ms
// (one request at a time, so a blocked event loop shows as one slow answer) and the daemon's
// memory read from /proc. Loopback only; one job, one fetch.
// Usage: bun scripts/bench-big-grid.ts [--workers 2] [--only pglite|postgres] [--side 1000]
// (--side n: entries 0.001..n/1000, so n(n+1)/2 pairs; smaller grids show what grows with pairs)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { launchDaemon, waitHealthy } from "../test/support/daemon.ts";

const { values: args } = parseArgs({ options: { workers: { type: "string", default: "2" }, only: { type: "string" }, side: { type: "string", default: "1000" } } });
const SIDE = Number(args.side);
const GRID = { entry_start: 0.001, entry_stop: SIDE / 1000, entry_step: 0.001, exit_start: 0, exit_stop: (SIDE - 1) / 1000, exit_step: 0.001 };
const EXPECTED_PAIRS = (SIDE * (SIDE + 1)) / 2;

function memoryKb(pid: number): { hwm: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { hwm: kb("VmHWM"), rss: kb("VmRSS") };
}

/** Polls /health one request at a time every 50 ms; the worst latency per phase. */
function healthProbe(url: string) {
  let phase = "idle";
  const worst: Record<string, number> = {};
  /** When the worst probe of each phase started, in ms since that phase began. */
  const worstAt: Record<string, number> = {};
  let phaseStarted = performance.now();
  const answers: Record<string, number> = {};
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const at = phase;
      const since = phaseStarted;
      const ok = await fetch(`${url}/health`).then((r) => r.arrayBuffer().then(() => r.status), () => 0);
      const ms = performance.now() - started;
      // A probe that spans a phase change counts against the phase it started in.
      if (ms > (worst[at] ?? -1)) (worst[at] = ms), (worstAt[at] = started - since);
      if (ok) answers[at] = (answers[at] ?? 0) + 1;
      await Bun.sleep(Math.max(0, 50 - ms));
    }
  })();
  return {
    set(p: string) { phase = p; phaseStarted = performance.now(); },
    worst, worstAt, answers,
    async stop() { running = false; await loop; },
  };
}

async function bench(label: string, env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), "gridcast-big-grid-"));
  const daemon = await launchDaemon(dataDir, ["--workers", args.workers!, "--max-pairs", "1000000"], env);
  const pid = daemon.proc.pid;
  // Peak RSS per phase, sampled every 20 ms (VmHWM only says the peak over the whole life).
  const peak: Record<string, number> = {};
  let phase = "start";
  const sampler = setInterval(() => { try { peak[phase] = Math.max(peak[phase] ?? 0, memoryKb(pid).rss); } catch {} }, 20);
  try {
    await waitHealthy(daemon.url);
    const demo = await fetch(`${daemon.url}/api/games/demo?games=1&seed=1`, { method: "POST" });
    if (!demo.ok) throw new Error(`demo import: ${demo.status} ${await demo.text()}`);
    const rssBefore = memoryKb(pid).rss;
    const hwmBefore = memoryKb(pid).hwm;
    const probe = healthProbe(daemon.url);
    const enter = (p: string) => { phase = p; probe.set(p); };
    enter("compute");
    const started = performance.now();
    const run = await fetch(`${daemon.url}/api/grid-search/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(GRID) });
    if (!run.ok) throw new Error(`run: ${run.status} ${await run.text()}`);
    const { request_id: id } = (await run.json()) as { request_id: string };
    let status = "";
    let computeMs = 0;
    while (!["complete", "error", "cancelled"].includes(status)) {
      await Bun.sleep(50);
      const p = (await (await fetch(`${daemon.url}/api/grid-search/progress/${id}`)).json()) as { status: string; current: number; total: number };
      status = p.status;
      // Every pair counted, not yet complete: the results are being stored.
      if (phase === "compute" && p.current === p.total) (computeMs = performance.now() - started), enter("store");
    }
    const jobMs = performance.now() - started;
    if (status !== "complete") throw new Error(`job ended ${status}`);
    const hwmAfterJob = memoryKb(pid).hwm;
    enter("fetch");
    const fetchStarted = performance.now();
    const res = await fetch(`${daemon.url}/api/grid-search/results/${id}`);
    let bytes = 0;
    let firstByteMs = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (bytes === 0) firstByteMs = performance.now() - fetchStarted;
      bytes += chunk.byteLength;
    }
    const fetchMs = performance.now() - fetchStarted;
    enter("after");
    await Bun.sleep(200);
    await probe.stop();
    const { hwm } = memoryKb(pid);
    // One parse to check the body is whole; done after the timing so it does not count.
    const check = (await (await fetch(`${daemon.url}/api/grid-search/results/${id}`)).json()) as { pairs: unknown[] };
    if (check.pairs.length !== EXPECTED_PAIRS) throw new Error(`expected ${EXPECTED_PAIRS} pairs, got ${check.pairs.length}`);
    const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
    const worst = (p: string) => `${(probe.worst[p] ?? 0).toFixed(0)} ms at +${((probe.worstAt[p] ?? 0) / 1000).toFixed(2)} s (${probe.answers[p] ?? 0} answers)`;
    console.log(`${label}: ${check.pairs.length} pairs, job ${(jobMs / 1000).toFixed(2)} s (computed in ${(computeMs / 1000).toFixed(2)} s, then stored); worst /health while computing ${worst("compute")}, while storing ${worst("store")}`);
    console.log(`${label}: results ${res.status} ${(bytes / 1e6).toFixed(1)} MB in ${(fetchMs / 1000).toFixed(2)} s (first byte ${firstByteMs.toFixed(0)} ms), worst /health during the fetch ${worst("fetch")}`);
    console.log(`${label}: RSS before the job ${mb(rssBefore)} (VmHWM ${mb(hwmBefore)}: startup); peak while computing ${mb(peak.compute ?? 0)}, storing ${mb(peak.store ?? 0)}, fetching ${mb(peak.fetch ?? 0)}; VmHWM after the job ${mb(hwmAfterJob)}, after the fetch ${mb(hwm)}`);
  } finally {
    clearInterval(sampler);
    daemon.proc.kill("SIGTERM");
    await daemon.proc.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (args.only !== "postgres") await bench("pglite", { DATABASE_URL: "" });
if (args.only !== "pglite" && process.env.DATABASE_URL) {
  // A database of its own on that server, dropped afterwards.
  const admin = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
  const name = `gridcast_bench_${process.pid}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(process.env.DATABASE_URL);
  u.pathname = `/${name}`;
  try {
    await bench("postgres", { DATABASE_URL: u.toString() });
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
