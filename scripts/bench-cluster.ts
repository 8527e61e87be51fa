// Several daemons on one PostgreSQL (cluster.md), measured: one grid search's pair-ticks/s on 1, 2
// and 3 nodes sharing this machine's cores with the total worker count fixed, what coordinating
// costs per unit (claim statements, and the time beside one node), the NOTIFYs each node sends
// during the job and during a replay, and how much later a job socket on another node hears each
// progress message than one on the node that runs the job (p50/p99), and how fast a cancel sent
// to another node stops every node's workers.
// Usage: bun scripts/bench-cluster.ts [--workers-total 6] [--games 5000] [--repeat 3]
// Real daemons as child processes (bun src/main.ts serve), loopback only, each run bounded.
import postgres from "postgres";
import { parseArgs } from "node:util";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { throwawayPostgres } from "./lib/throwaway-pg.ts";
import { watchdog } from "./lib/bench-children.ts";
import { launchDaemon, waitHealthy } from "../test/support/daemon.ts";

const { values } = parseArgs({ options: {
  "workers-total": { type: "string", default: "6" }, games: { type: "string", default: "5000" }, repeat: { type: "string", default: "3" },
} });
const TOTAL = Math.max(3, Math.min(24, Number(values["workers-total"])));
const GAMES = Math.max(200, Math.min(10_000, Number(values.games)));
const REPEAT = Math.max(1, Math.min(7, Number(values.repeat)));
const GRID = { entry_start: 0.002, entry_stop: 0.4, entry_step: 0.002, exit_start: 0, exit_stop: 0.2, exit_step: 0.002 };
const dog = watchdog(25 * 60_000, "bench-cluster");

const pg = await throwawayPostgres();
if (!pg) {
  console.log("bench-cluster: no PostgreSQL (set DATABASE_URL or install initdb/pg_ctl)");
  process.exit(0);
}
const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
const [{ pid: backend }] = await admin`select pg_backend_pid() as pid`;
/** The PostgreSQL server's main process, whose children are the backends. */
const postmaster = Number(readFileSync(`/proc/${backend}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);

interface Node { id: string; url: string; proc: ReturnType<typeof Bun.spawn> }

async function database(name: string): Promise<string> {
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(pg!.url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function start(id: string, url: string, workers: number): Promise<Node> {
  const d = await launchDaemon(join(mkdtempSync(join(tmpdir(), "gridcast-bench-cluster-")), "data"),
    ["--node-id", id, "--workers", String(workers), "--tick-ms", "50", "--heartbeat-ms", "1000", "--lease-ms", "5000"], { DATABASE_URL: url });
  await waitHealthy(d.url);
  return { id, url: d.url, proc: d.proc };
}

async function stopAll(nodes: Node[]) {
  for (const n of nodes) n.proc.kill("SIGTERM");
  await Promise.all(nodes.map((n) => n.proc.exited));
}

const post = async (n: Node, path: string, body?: unknown) => {
  const r = await fetch(`${n.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
const health = async (n: Node) => (await fetch(`${n.url}/health`)).json();
const notifications = async (n: Node): Promise<number> => Number((await health(n)).cluster?.bus?.notifications ?? 0);
const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : NaN);

/** Arrival time (performance.now()) of each progress `current` on one node's job socket, until it closes. */
function watch(n: Node, id: string) {
  const ws = new WebSocket(`${n.url.replace("http", "ws")}/ws/grid-search/${id}`);
  const at = new Map<number, number>();
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data));
    if (m.type === "progress" && m.progress.status === "running" && !at.has(m.progress.current)) at.set(m.progress.current, performance.now());
  };
  const closed = new Promise<void>((r) => (ws.onclose = () => r()));
  return { at, closed };
}

/** CPU seconds a process used (all its threads; with its reaped children when `children`), from /proc. */
const TICK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;
function cpuOf(pid: number, children = false): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    const [ut, st, cut, cst] = [11, 12, 13, 14].map((i) => Number(f[i]));
    return (ut! + st! + (children ? cut! + cst! : 0)) / TICK;
  } catch {
    return 0;
  }
}
/** PostgreSQL's CPU seconds: the postmaster with the backends it reaped, and the live ones. */
function pgCpu(): number {
  let n = cpuOf(postmaster, true);
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1]!.split(" ")[1] === String(postmaster)) n += cpuOf(Number(d));
    } catch {}
  }
  return n;
}

/** Claim statements all nodes ran since they started (/health's cluster.jobs). */
const claimStatements = async (nodes: Node[]) =>
  (await Promise.all(nodes.map(async (n) => Number((await health(n)).cluster?.jobs?.claims ?? 0)))).reduce((a, b) => a + b, 0);

interface Run { seconds: number; pairTicks: number; claims: number; units: number; notes: number[]; lag: number[]; cpu: number[]; pgCpu: number; helped: number[] }
const helpedUnits = async (nodes: Node[]) => Promise.all(nodes.map(async (n) => Number((await health(n)).cluster?.jobs?.units_helped ?? 0)));

async function runJob(nodes: Node[], ticks: number, db: ReturnType<typeof postgres>, label = "round"): Promise<Run> {
  const before = await Promise.all(nodes.map(notifications));
  const claimsBefore = await claimStatements(nodes);
  const helpedBefore = await helpedUnits(nodes);
  const cpu0 = nodes.map((n) => cpuOf(n.proc.pid));
  const pg0 = pgCpu();
  const t0 = performance.now();
  const { request_id: id } = await post(nodes[0]!, "/api/grid-search/run", GRID);
  const watchers = nodes.map((n) => watch(n, id));
  let p: { status: string; total: number } = { status: "queued", total: 0 };
  const deadline = t0 + 10 * 60_000;
  while (performance.now() < deadline) {
    p = await (await fetch(`${nodes[0]!.url}/api/grid-search/progress/${id}`)).json();
    if (p.status !== "queued" && p.status !== "running") break;
    await Bun.sleep(20);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = nodes.map((n, i) => cpuOf(n.proc.pid) - cpu0[i]!);
  const pgUsed = pgCpu() - pg0;
  if (p.status !== "complete") throw new Error(`job ended ${p.status}`);
  await Promise.race([Promise.all(watchers.map((w) => w.closed)), Bun.sleep(5000)]);
  const after = await Promise.all(nodes.map(notifications));
  const claims = (await claimStatements(nodes)) - claimsBefore;
  // The job's units: its pair blocks times its game blocks (of 64 games, cut within each split).
  const [job] = await db`select (params->>'unit_size')::int as size, (params->>'pairs')::int as pairs from jobs where id = ${id}`;
  const units = Math.ceil(Number(job!.pairs) / Number(job!.size)) * (Math.ceil(GAMES / 64) + 2);
  // Progress messages the owner's socket and another node's both heard: how much later the other did.
  const lag: number[] = [];
  for (const w of watchers.slice(1)) {
    for (const [current, t] of w.at) {
      const own = watchers[0]!.at.get(current);
      if (own !== undefined) lag.push(t - own);
    }
  }
  const pairs = p.total / GAMES;
  const helped = (await helpedUnits(nodes)).map((h, i) => h - helpedBefore[i]!);
  const run = { seconds, pairTicks: (pairs * ticks) / seconds, claims, units, notes: after.map((a, i) => (a - before[i]!) / seconds), lag, cpu, pgCpu: pgUsed, helped };
  console.log(`  ${label}: ${nodes.length} node(s) ${seconds.toFixed(2)} s; CPU s daemons ${cpu.map((c) => c.toFixed(2)).join("+")}, PostgreSQL ${pgUsed.toFixed(2)}; units helped ${helped.join(", ")}`);
  return run;
}

/** A job on the first node cancelled from the last one: ms until its answer, and until no node's worker is busy. */
async function cancelAcross(nodes: Node[]): Promise<{ answer: number; idle: number } | string> {
  const { request_id: id } = await post(nodes[0]!, "/api/grid-search/run", GRID);
  const deadline = performance.now() + 60_000;
  // Every node at work on it (or as many as get to it before this bound).
  const seen = nodes.map(() => false);
  while (performance.now() < deadline) {
    const busy = await Promise.all(nodes.map(async (n) => Number((await health(n)).services.workers.busy)));
    busy.forEach((b, i) => (seen[i] ||= b > 0));
    if (busy.every((b) => b > 0)) break;
    const p = await (await fetch(`${nodes[0]!.url}/api/grid-search/progress/${id}`)).json();
    if (p.status !== "queued" && p.status !== "running") return `the job ended ${p.status} before every node was at work (busy seen: ${seen.join(", ")})`;
    await Bun.sleep(10);
  }
  const t0 = performance.now();
  await post(nodes.at(-1)!, `/api/jobs/${id}/cancel`);
  const answer = performance.now() - t0;
  while (performance.now() < deadline) {
    const busy = await Promise.all(nodes.map(async (n) => Number((await health(n)).services.workers.busy)));
    if (busy.every((b) => b === 0)) break;
    await Bun.sleep(5);
  }
  return { answer, idle: performance.now() - t0 };
}

async function replayNotifications(nodes: Node[]): Promise<number[]> {
  const before = await Promise.all(nodes.map(notifications));
  const t0 = performance.now();
  const r = await post(nodes[0]!, "/api/live/replay", { count: 20, speed: 1000, prefix: `bench-${Math.round(t0)}-` });
  const replayId = r.replay_id ?? r.id;
  const deadline = t0 + 120_000;
  while (performance.now() < deadline) {
    const s = await (await fetch(`${nodes[0]!.url}/api/live/replay/${replayId}`)).json().catch(() => ({}));
    if (s.status && s.status !== "running") break;
    await Bun.sleep(100);
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = await Promise.all(nodes.map(notifications));
  return after.map((a, i) => (a - before[i]!) / seconds);
}

const layouts: number[][] = [[TOTAL], [Math.ceil(TOTAL / 2), Math.floor(TOTAL / 2)], [Math.ceil(TOTAL / 3), Math.round(TOTAL / 3), Math.floor(TOTAL / 3)]];
console.log(`bench-cluster: one grid search (${GRID.entry_stop / GRID.entry_step} x ${GRID.exit_stop / GRID.exit_step + 1} pairs) over ${GAMES} demo games, ${TOTAL} workers in all, a first job per layout, then the median of ${REPEAT} rounds`);
// Every layout's daemons up at once (idle ones park their workers), each on a database of its own;
// the rounds then run the layouts in a rotated order, so the machine's drift falls on each alike,
// and each layout's figure is its median round. Its ratio to one node is the median, over rounds,
// of its time beside one node's in the same round (a round takes ~15 s, the machine drifts over
// minutes), and the CPU seconds every process used (the daemons and PostgreSQL) beside one node's.
interface Layout { layout: number[]; nodes: Node[]; db: ReturnType<typeof postgres>; ticks: number; cold?: Run; runs: Run[] }
const set: Layout[] = [];
try {
  for (const [k, layout] of layouts.entries()) {
    const url = await database(`gridcast_bench_cluster_${k}`);
    const nodes: Node[] = [];
    set.push({ layout, nodes, db: postgres(url, { max: 1, onnotice: () => {} }), ticks: 0, runs: [] });
    for (const [i, w] of layout.entries()) nodes.push(await start(`node-${String.fromCharCode(97 + i)}`, url, w));
    set[k]!.ticks = Number((await post(nodes[0]!, `/api/games/demo?games=${GAMES}&seed=42`)).ticks);
  }
  // Each layout's first job is timed apart: every node then loads the games into its own
  // shared-memory store (the next jobs on the same data reuse it), which helpers do while the
  // owner already computes. The rounds after it are the steady state the ratios are taken from.
  for (const l of set) l.cold = await runJob(l.nodes, l.ticks, l.db, "first job");
  for (let r = 0; r < REPEAT; r++) {
    for (let j = 0; j < set.length; j++) {
      const l = set[(r + j) % set.length]!;
      l.runs.push(await runJob(l.nodes, l.ticks, l.db));
    }
  }
} catch (err) {
  for (const l of set) await stopAll(l.nodes);
  throw err;
}
const median = (runs: Run[]) => [...runs].sort((x, y) => x.seconds - y.seconds)[Math.floor((runs.length - 1) / 2)]!;
const results: Array<{ layout: number[]; best: Run; replay: number[]; cancel: { answer: number; idle: number } | string }> = [];
for (const l of set) {
  const replay = await replayNotifications(l.nodes).catch((err) => (console.log(`  replay: ${(err as Error).message}`), l.nodes.map(() => NaN)));
  const cancel = await cancelAcross(l.nodes).catch((err) => `failed: ${(err as Error).message}`);
  results.push({ layout: l.layout, best: median(l.runs), replay, cancel });
  await l.db.end();
  await stopAll(l.nodes);
}
const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const one = set[0]!.runs;
const cpuOfRun = (r: Run) => r.cpu.reduce((a, b) => a + b, 0) + r.pgCpu;
for (const [k, { layout, best, replay, cancel }] of results.entries()) {
  const runs = set[k]!.runs;
  const ratios = runs.map((r, i) => one[i]!.seconds / r.seconds);
  const extra = mid(runs.map((r, i) => (r.seconds - one[i]!.seconds) * 1000));
  const cpu = mid(runs.map((r, i) => cpuOfRun(r) / cpuOfRun(one[i]!)));
  console.log(`${layout.length} node(s), workers ${layout.join("+")}: ${(best.pairTicks / 1e6).toFixed(1)} M pair-ticks/s in ${best.seconds.toFixed(2)} s (median round); `
    + `${mid(ratios).toFixed(3)}x one node (rounds ${ratios.map((x) => x.toFixed(2)).join(", ")}); CPU used ${cpu.toFixed(3)}x one node's; `
    + `~${best.units} units, ${best.claims} claim statements (${(best.claims / best.units).toFixed(3)} a unit); ${extra >= 0 ? "+" : ""}${extra.toFixed(0)} ms beside one node (${(extra / best.units).toFixed(3)} ms a unit)`);
  const cold = set[k]!.cold!;
  console.log(`  its first job (every node loading the games): ${cold.seconds.toFixed(2)} s, ${(set[0]!.cold!.seconds / cold.seconds).toFixed(3)}x one node's first`);
  console.log(`  NOTIFYs per second per node: job ${best.notes.map((x) => x.toFixed(1)).join(", ")}; replay ${replay.map((x) => x.toFixed(1)).join(", ")}`);
  console.log(typeof cancel === "string" ? `  a cancel sent to the last node: ${cancel}`
    : `  a cancel sent to the last node: answered in ${cancel.answer.toFixed(0)} ms, every node's workers idle after ${cancel.idle.toFixed(0)} ms`);
  if (best.lag.length) console.log(`  a watcher on another node hears progress later by p50 ${pct(best.lag, 0.5).toFixed(1)} ms, p99 ${pct(best.lag, 0.99).toFixed(1)} ms (${best.lag.length} messages)`);
}
await admin.end();
pg.stop();
clearTimeout(dog);
