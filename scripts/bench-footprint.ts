// The daemon's resident memory (VmRSS from /proc) at each point of its life, on PGlite and on
// PostgreSQL (DATABASE_URL, or a throwaway server when initdb is on the PATH): idle after start on
// a new data dir and on an existing one, during and after a ~1M-tick demo import, a restart on that
// data, during and after a grid search over it. Each point also shows what holds the memory, from
// the daemon's /metrics (JS heap, external buffers, PGlite's WASM memory, the game store, workers).
//   bun scripts/bench-footprint.ts          (RUNS=3 repeats, medians; GAMES=4200 demo games ~ 1M ticks;
//   IDLE_MS: the daemon's --compute-idle-ms, 5000 here to keep the run short; FLAGS: more daemon flags;
//   PG=0: PGlite only)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { throwawayPostgres } from "./lib/throwaway-pg";

const MAIN = join(import.meta.dir, "../src/main.ts");
const RUNS = Number(process.env.RUNS ?? 3);
const GAMES = Number(process.env.GAMES ?? 4200); // demo games average 240 ticks: ~1M ticks
const WORKERS = Number(process.env.WORKERS ?? 2);
// Idle: the figure once it has stopped falling (GC, trims), read for at most this long.
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 8000);
const IDLE_MS = Number(process.env.IDLE_MS ?? 5000);
const FLAGS = (process.env.FLAGS ?? "").split(" ").filter(Boolean);
const GRID = { entry_start: 0.01, entry_stop: 0.3, entry_step: 0.005, exit_start: 0, exit_stop: 0.1, exit_step: 0.005 };
const MiB = 1024 ** 2;

interface Daemon { proc: ReturnType<typeof Bun.spawn>; url: string }

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Anonymous vs file-backed resident pages (bun's own code is file-backed). */
function rollup(pid: number): { anon: number; file: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { anon: kb("Anonymous"), file: kb("Rss") - kb("Anonymous") };
}

/** Resident bytes of the mapping that holds PGlite's WebAssembly memory: the anonymous one of
 *  that size (JavaScriptCore maps it on its own; a heuristic, but no other mapping is that size). */
function wasmResident(pid: number, bytes: number): number | undefined {
  if (!bytes) return undefined;
  let size = 0;
  let best: number | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (h) size = parseInt(h[2], 16) - parseInt(h[1], 16);
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r && size >= bytes && size <= bytes * 1.01) best = Math.max(best ?? 0, Number(r[1]) * 1024);
  }
  return best;
}

async function launch(dataDir: string, env: Record<string, string>): Promise<Daemon> {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--port", "0", "--data-dir", dataDir, "--log-format", "json",
    "--workers", String(WORKERS), "--metrics-history-interval-ms", "0", "--compute-idle-ms", String(IDLE_MS), ...FLAGS], { env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
  let url: string | undefined;
  const dec = new TextDecoder();
  let buffered = "";
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  const deadline = Date.now() + 30_000;
  while (!url && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += dec.decode(value, { stream: true });
    const m = /"msg":"listening".*?"url":"([^"]+)"/.exec(buffered);
    if (m) url = m[1];
  }
  void (async () => { while (!(await reader.read()).done); })(); // keep draining the log
  if (!url) throw new Error(`daemon did not listen:\n${buffered}`);
  while (Date.now() < deadline) {
    if ((await fetch(`${url}/health`).catch(() => undefined))?.status === 200) return { proc, url };
    await Bun.sleep(20);
  }
  throw new Error("daemon never became healthy");
}

async function stop(d: Daemon): Promise<void> {
  d.proc.kill("SIGTERM");
  await d.proc.exited;
}

/** What /metrics says holds the memory (gridcast_collected keys memory_*, and the heap gauges). */
async function parts(d: Daemon): Promise<Record<string, number>> {
  const text = await (await fetch(`${d.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^gridcast_memory_(\w+)_bytes (\S+)$/gm)) out[m[1]] = Number(m[2]);
  for (const m of text.matchAll(/^gridcast_collected\{key="memory_(\w+)"\} (\S+)$/gm)) out[m[1]] = Number(m[2]);
  const resident = wasmResident(d.proc.pid, out.pglite_wasm_bytes ?? 0);
  if (resident !== undefined) out.pglite_wasm_resident = resident;
  const parked = /^gridcast_workers_parked (\S+)$/m.exec(text);
  if (parked) out["workers_parked (count)"] = Number(parked[1]) * MiB;
  return out;
}

/** RSS once it has stopped falling: sampled every 250 ms, for at least `atLeastMs`, until two
 *  seconds bring nothing lower (at most SETTLE_MS more). */
async function idle(d: Daemon, atLeastMs = 0): Promise<number> {
  const pid = d.proc.pid;
  let low = rssOf(pid);
  let lowAt = Date.now();
  const from = Date.now();
  const end = from + atLeastMs + SETTLE_MS;
  while (Date.now() < end && (Date.now() - from < atLeastMs || Date.now() - lowAt < 2000)) {
    await Bun.sleep(250);
    const r = rssOf(pid);
    if (r < low - MiB) (low = r), (lowAt = Date.now());
  }
  return rssOf(pid);
}

/** Runs `work` while sampling RSS every 50 ms; resolves to its peak. */
async function peakDuring(d: Daemon, work: () => Promise<void>): Promise<number> {
  let peak = rssOf(d.proc.pid);
  let on = true;
  const sampler = (async () => {
    while (on) {
      peak = Math.max(peak, rssOf(d.proc.pid));
      await Bun.sleep(50);
    }
  })();
  try {
    await work();
  } finally {
    on = false;
    await sampler;
  }
  return peak;
}

async function importDemo(d: Daemon): Promise<void> {
  const res = await fetch(`${d.url}/api/games/demo?games=${GAMES}&seed=7`, { method: "POST" });
  if (res.status !== 200) throw new Error(`demo import: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

async function gridSearch(d: Daemon): Promise<void> {
  const res = await fetch(`${d.url}/api/grid-search/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(GRID) });
  if (res.status !== 200) throw new Error(`grid search: ${res.status} ${await res.text()}`);
  const { request_id } = (await res.json()) as { request_id: string };
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const list = (await (await fetch(`${d.url}/api/jobs?limit=5`)).json()) as { jobs: { request_id: string; status: string; error?: string }[] };
    const row = list.jobs.find((j) => j.request_id === request_id);
    if (row?.status === "complete") return;
    if (row && ["error", "cancelled"].includes(row.status)) throw new Error(`grid search ${row.status}: ${row.error}`);
    await Bun.sleep(100);
  }
  throw new Error("grid search did not finish in 300 s");
}

const POINTS = ["idle, new data dir", "idle, existing data dir", "import ~1M ticks (peak)", "after the import",
  "restart on that data", "grid search (peak)", "after the grid search"] as const;
type Point = (typeof POINTS)[number];
interface Reading { rss: number; parts?: Record<string, number>; anon?: number; file?: number; ms?: number }

async function reading(d: Daemon, rss: number): Promise<Reading> {
  return { rss, parts: await parts(d), ...rollup(d.proc.pid) };
}

/** One pass through a daemon's life; `env` picks the database (DATABASE_URL or PGlite). */
async function pass(env: Record<string, string>): Promise<Map<Point, Reading>> {
  const out = new Map<Point, Reading>();
  const dir = join(mkdtempSync(join(tmpdir(), "gridcast-footprint-")), "data");
  try {
    let d = await launch(dir, env);
    out.set("idle, new data dir", await reading(d, await idle(d, 1500)));
    await stop(d);
    d = await launch(dir, env);
    out.set("idle, existing data dir", await reading(d, await idle(d, 1500)));
    let t0 = performance.now();
    out.set("import ~1M ticks (peak)", { rss: await peakDuring(d, () => importDemo(d)), ms: performance.now() - t0 });
    out.set("after the import", await reading(d, await idle(d, 1500)));
    await stop(d);
    d = await launch(dir, env);
    out.set("restart on that data", await reading(d, await idle(d, 1500)));
    t0 = performance.now();
    out.set("grid search (peak)", { rss: await peakDuring(d, () => gridSearch(d)), ms: performance.now() - t0 });
    // The workers park and the kept store goes IDLE_MS after the job; the trim a second later.
    out.set("after the grid search", await reading(d, await idle(d, IDLE_MS + 1500)));
    await stop(d);
  } finally {
    rmSync(join(dir, ".."), { recursive: true, force: true });
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (b: number | undefined) => (b === undefined || Number.isNaN(b) ? "-" : (b / MiB).toFixed(0));

async function modes(): Promise<{ name: string; env: () => Promise<Record<string, string>>; done(): Promise<void> }[]> {
  const list: { name: string; env: () => Promise<Record<string, string>>; done(): Promise<void> }[] = [
    { name: "PGlite", env: async () => ({ DATABASE_URL: "" }), done: async () => {} },
  ];
  const pg = process.env.PG === "0" ? undefined : await throwawayPostgres();
  if (!pg) {
    console.log("(no PostgreSQL: set DATABASE_URL or put initdb on the PATH for the PostgreSQL column)");
    return list;
  }
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  const made: string[] = [];
  list.push({
    name: "PostgreSQL",
    // A database of its own per pass, so "new" really is new; dropped at the end.
    env: async () => {
      const name = `gridcast_footprint_${made.length}_${process.pid}`;
      await admin.unsafe(`create database ${name}`);
      made.push(name);
      const u = new URL(pg.url);
      u.pathname = `/${name}`;
      return { DATABASE_URL: u.toString() };
    },
    done: async () => {
      for (const name of made) await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
      pg.stop();
    },
  });
  return list;
}

const results: { name: string; runs: Map<Point, Reading>[] }[] = [];
for (const mode of await modes()) {
  const runs: Map<Point, Reading>[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await pass(await mode.env()));
  await mode.done();
  results.push({ name: mode.name, runs });
}

const base = (r: { runs: Map<Point, Reading>[] }) => median(r.runs.map((m) => m.get("idle, existing data dir")!.rss));
console.log(`\nVmRSS in MiB, median of ${RUNS} run(s); ${GAMES} demo games, ${WORKERS} workers, --compute-idle-ms ${IDLE_MS} ${FLAGS.join(" ")}; x = / idle on an existing data dir\n`);
console.log(`| point | ${results.map((r) => `${r.name} | x`).join(" | ")} |`);
console.log(`|---|${results.map(() => "---:|---:").join("|")}|`);
for (const p of POINTS) {
  const cells = results.map((r) => {
    const m = median(r.runs.map((run) => run.get(p)!.rss));
    return `${mib(m)} | ${(m / base(r)).toFixed(2)}`;
  });
  console.log(`| ${p} | ${cells.join(" | ")} |`);
}
for (const p of ["import ~1M ticks (peak)", "grid search (peak)"] as const) {
  console.log(`${p.replace(" (peak)", "")} took: ${results.map((r) => `${r.name} ${median(r.runs.map((run) => run.get(p)!.ms!)).toFixed(0)} ms`).join(", ")}`);
}

// What holds it: the last run's readings (medians would mix parts of different runs).
for (const r of results) {
  const last = r.runs[r.runs.length - 1];
  const keys = [...new Set([...last.values()].flatMap((x) => Object.keys(x.parts ?? {})))];
  console.log(`\n${r.name}: what holds the memory (MiB, last run; anon/file: smaps_rollup)\n`);
  console.log(`| point | rss | anon | file | ${keys.join(" | ")} |`);
  console.log(`|---|${["rss", "anon", "file", ...keys].map(() => "---:").join("|")}|`);
  for (const p of POINTS) {
    const x = last.get(p)!;
    if (!x.parts) continue;
    console.log(`| ${p} | ${mib(x.rss)} | ${mib(x.anon)} | ${mib(x.file)} | ${keys.map((k) => mib(x.parts![k])).join(" | ")} |`);
  }
}
