// Grid-search throughput on synthetic games: the plain loop (simulateGame per pair per game),
// today's kernel (the scan) and the new one (jumps between events where they win, "auto"),
// single thread, then the worker pool on 1 and on N workers, for short games and for long ones.
// Usage: bun scripts/bench-grid.ts [--quick] [--sets short,5k,20k] [--pairs 2000]
//        [--workers <cores>] [--unit <pairs>] [--plain-every <k>] [--pool-runs 3]
//   sets: short = 8,000 games of 60-200 ticks (~1M ticks), 5k = 1,000 games of 5,000 ticks,
//   20k = 300 games of 20,000 ticks (scripts/lib/grid-games.ts); the full run takes ~70 s on 2
//   cores. --quick runs a tenth of each set's games (a fourth of the short set's), to check
//   the script and the bits; its pool jobs last tens of ms, too short for the pool's ratio.
//   On long games the plain loop runs every k-th pair (default 10): its rate does not depend
//   on which pairs.
// (b) is today's kernel: the scan path of kernel.ts, today's loops at today's speed, in the
// new blocks of pairs (a game's edges computed once per 1024 pairs, where today's workers cut
// long games into 8-pair units), so (c)/(b) is not flattered by the old unit size. The pool
// runs what a server runs: the kernel's "auto" in the workers, with defaultUnitSize.
// Every figure is pair-ticks/s: pairs x ticks / seconds, the scan's work whatever the kernel
// does, so figures compare across kernels. "cpu/wall" is the process's CPU time over wall time:
// below 1 (single thread) or the worker count (pool), other processes were taking the cores,
// and "per cpu-s" (single thread) is the rate per second of CPU this process got. Every result
// is checked bit for bit (pnl, trades, wins of each split) against today's kernel.
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { GameKernel, simulateGame, type KernelChoice } from "../src/compute/kernel.ts";
import { createPool, defaultUnitSize, type JobOutcome } from "../src/compute/pool.ts";
import type { ProgressCounts } from "../src/compute/progress.ts";
import { splitBounds } from "../src/compute/splits.ts";
import { buildStore, type GameStore } from "../src/compute/store.ts";
import { gameBlocks, SPLIT_NAMES, type GridTotals } from "../src/compute/units.ts";
import { gridOfPairs, longGames, shortGames, type SyntheticGame } from "./lib/grid-games.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    sets: { type: "string", default: "short,5k,20k" },
    pairs: { type: "string", default: "2000" },
    workers: { type: "string", default: String(availableParallelism()) },
    unit: { type: "string" },
    "plain-every": { type: "string" },
    "pool-runs": { type: "string", default: "3" },
  },
});
const POOL_RUNS = Math.max(1, Number(args["pool-runs"]));
const QUICK = args.quick;
const CORES = Number(args.workers);
const { entries, exits } = gridOfPairs(Number(args.pairs));
const PAIRS = entries.length;
const FEE = 0.001;

const SETS: Record<string, { label: string; games: () => SyntheticGame[]; plainEvery: number }> = {
  short: { label: "short games, 60-200 ticks", games: () => shortGames(QUICK ? 2000 : 8000, 7), plainEvery: 1 },
  "5k": { label: "games of 5,000 ticks", games: () => longGames(QUICK ? 100 : 1000, 5000, 11), plainEvery: 10 },
  "20k": { label: "games of 20,000 ticks", games: () => longGames(QUICK ? 30 : 300, 20000, 13), plainEvery: 10 },
};

const load = () => `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`;
const fmt = (r: number) => `${(r / 1e6).toFixed(0)}M pair-ticks/s`;

function zeros(n: number): GridTotals {
  const t = () => ({ pnl: new Float64Array(n), trades: new Float64Array(n), wins: new Float64Array(n) });
  return { train: t(), valid: t(), test: t() };
}

type BlockRun = (g: number, pairFrom: number, pairTo: number, oP: Float64Array, oT: Float64Array, oW: Float64Array) => void;

/** Single thread in the pool's own order: pair blocks of `block`, each game block's games
 *  summed from 0 in game order, block sums added per split in block order (as GridFold does),
 *  so every loop below gives the pool's bits. */
function foldLoop(store: GameStore, block: number, run: BlockRun): GridTotals {
  const totals = zeros(PAIRS);
  const blocks = gameBlocks(splitBounds(store.games));
  const out = [new Float64Array(block), new Float64Array(block), new Float64Array(block)];
  const sum = [new Float64Array(block), new Float64Array(block), new Float64Array(block)];
  for (let from = 0; from < PAIRS; from += block) {
    const to = Math.min(from + block, PAIRS);
    for (const b of blocks) {
      for (const s of sum) s.fill(0);
      for (let g = b.from; g < b.to; g++) {
        run(g, from, to, out[0], out[1], out[2]);
        for (let k = 0; k < 3; k++) for (let i = 0; i < to - from; i++) sum[k][i] += out[k][i];
      }
      const t = totals[SPLIT_NAMES[b.split]];
      for (let i = 0, p = from; p < to; i++, p++) (t.pnl[p] += sum[0][i]), (t.trades[p] += sum[1][i]), (t.wins[p] += sum[2][i]);
    }
  }
  return totals;
}

/** (a) The spec read literally: simulateGame per pair per game (every k-th pair; others 0). */
function plainLoop(store: GameStore, block: number, every: number): GridTotals {
  return foldLoop(store, block, (g, from, to, oP, oT, oW) => {
    for (let p = from; p < to; p++) {
      if (p % every !== 0) continue;
      const r = simulateGame(store.price, store.fair, store.offsets[g], store.offsets[g + 1], store.outcomes[g], entries[p], exits[p], FEE);
      (oP[p - from] = r.pnl), (oT[p - from] = r.trades), (oW[p - from] = r.wins);
    }
  });
}

/** (b), (c) The kernel, single thread, no pool: a game loaded once per pair block, as a worker
 *  does per unit. Counts the pair-games that jumped. */
function kernelLoop(store: GameStore, block: number, how: KernelChoice): { totals: GridTotals; jumped: number } {
  const kernel = new GameKernel();
  let jumped = 0;
  const totals = foldLoop(store, block, (g, from, to, oP, oT, oW) => {
    kernel.load(store.price, store.fair, store.offsets[g], store.offsets[g + 1], to - from);
    jumped += kernel.run(store.outcomes[g], entries, exits, from, to, FEE, oP, oT, oW, how);
  });
  return { totals, jumped };
}

/** Pairs (every k-th) whose pnl, trades or wins differ in any split, bit for bit. */
function differing(a: GridTotals, b: GridTotals, every = 1): number {
  let n = 0;
  for (let p = 0; p < PAIRS; p += every) {
    const same = SPLIT_NAMES.every((s) => Object.is(a[s].pnl[p], b[s].pnl[p]) && a[s].trades[p] === b[s].trades[p] && a[s].wins[p] === b[s].wins[p]);
    if (!same) n++;
  }
  return n;
}

function timed<T>(f: () => T): { value: T; wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1e6 };
}

/** The pool on `store`, RUNS jobs one after another, timed after a warm-up job on `warm` (a
 *  slice of the same set's games): the workers have loaded and compiled the kernel, as they have
 *  in a server that ran jobs before. A job of a second or less is easily slowed by another
 *  process on a shared machine, so the fastest run counts; all are printed. */
async function poolRun(store: GameStore, warm: GameStore, unit: number, size: number, onProgress?: (jobId: string, s: ProgressCounts) => void):
  Promise<{ seconds: number; all: number[]; cpu: number; outcome: JobOutcome }> {
  const pool = createPool({ size });
  try {
    const warmUp = await pool.submit({ id: `warm-${size}`, kind: "grid", store: warm, entries, exits, fee: FEE, unitSize: unit }).result;
    if (warmUp.status !== "complete") throw new Error(`warm-up job: ${warmUp.status}`);
    const all: number[] = [];
    let best: { seconds: number; cpu: number; outcome: JobOutcome } = { seconds: Infinity, cpu: 0, outcome: warmUp };
    for (let r = 0; r < POOL_RUNS; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const id = `bench-${size}`;
      const outcome = await pool.submit({ id, kind: "grid", store, entries, exits, fee: FEE, unitSize: unit }, { onProgress: onProgress && ((s) => onProgress(id, s)) }).result;
      const seconds = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      all.push(seconds);
      if (seconds < best.seconds) best = { seconds, cpu: (c.user + c.system) / 1e6 / seconds, outcome };
    }
    return { ...best, all };
  } finally {
    await pool.close();
  }
}

/** How much parallel speed the machine gives right now: a pure ALU loop in 1 and in `n` Workers.
 *  On a shared host this can be well under n, and every pool figure below is capped by it. */
async function aluCeiling(n: number): Promise<number> {
  const code = `self.onmessage = () => { let x = 1.0001, s = 0;
    for (let i = 0; i < 1e8; i++) { s += x * i; x = x * 1.0000001 - 1e-9; } postMessage(s); };`;
  const url = URL.createObjectURL(new Blob([code], { type: "application/javascript" }));
  const time = async (k: number) => {
    const ws = Array.from({ length: k }, () => new Worker(url));
    await Bun.sleep(50);
    const t0 = performance.now();
    await Promise.all(ws.map((w) => new Promise((r) => ((w.onmessage = r), w.postMessage(0)))));
    ws.forEach((w) => w.terminate());
    return performance.now() - t0;
  };
  const one = await time(1);
  return (n * one) / (await time(n));
}

console.log(`bench-grid${QUICK ? " --quick" : ""}: ${PAIRS} pairs (entries ${entries[0]} to ${entries[PAIRS - 1].toFixed(3)}), fee ${FEE}; ${CORES} workers; ${load()}`);
console.log(`machine: ${CORES} Workers of pure ALU run ${(await aluCeiling(CORES)).toFixed(2)}x one (the ceiling for the pool's ${CORES} vs 1)`);
const summary: string[] = [];
let mismatched = 0;
for (const name of args.sets.split(",")) {
  const set = SETS[name];
  if (!set) throw new Error(`unknown set ${name}: one of ${Object.keys(SETS)}`);
  const games = set.games();
  const store = buildStore(games, `bench-${name}`);
  // about 200k ticks of the same games, to warm the JIT up (single thread and each worker)
  let warmTicks = 0;
  const warm = buildStore(games.filter((g) => (warmTicks += g.price.length) <= 200_000 || warmTicks === g.price.length), `warm-${name}`);
  const unit = args.unit ? Number(args.unit) : defaultUnitSize(store);
  const work = store.ticks * PAIRS;
  const every = Number(args["plain-every"] ?? set.plainEvery);
  console.log(`\n[${name}] ${store.games} ${set.label}, ${store.ticks} ticks: ${(work / 1e9).toFixed(2)}G pair-ticks; unit ${unit} pairs; ${load()}`);

  for (const how of ["scan", "auto"] as const) kernelLoop(warm, unit, how);
  plainLoop(warm, unit, every);
  const a = timed(() => plainLoop(store, unit, every));
  const aRate = work / every / a.wall;
  console.log(`(a) plain loop (simulateGame), single thread${every > 1 ? `, every ${every}th pair` : ""}: ${fmt(aRate)} (${a.wall.toFixed(2)} s, cpu/wall ${(a.cpu / a.wall).toFixed(2)})`);
  const b = timed(() => kernelLoop(store, unit, "scan"));
  const bRate = work / b.wall;
  console.log(`(b) today's kernel (scan), single thread: ${fmt(bRate)} (${b.wall.toFixed(2)} s, cpu/wall ${(b.cpu / b.wall).toFixed(2)}, ${fmt(work / b.cpu)} per cpu-s)`);
  const c = timed(() => kernelLoop(store, unit, "auto"));
  const cRate = work / c.wall;
  let trades = 0;
  for (const s of SPLIT_NAMES) for (const t of c.value.totals[s].trades) trades += t;
  console.log(`(c) new kernel (auto), single thread: ${fmt(cRate)} (${c.wall.toFixed(2)} s, cpu/wall ${(c.cpu / c.wall).toFixed(2)}, ${fmt(work / c.cpu)} per cpu-s); ` +
    `${((100 * c.value.jumped) / (PAIRS * store.games)).toFixed(1)}% of pair-games jumped, ${(trades / (PAIRS * store.games)).toFixed(2)} trades per pair-game`);
  const base = b.value.totals;
  const check = (t: GridTotals, k = 1) => {
    const d = differing(t, base, k);
    mismatched += d;
    return d === 0 ? "bit-identical to (b)" : `${d} pairs DIFFER from (b)`;
  };
  console.log(`    (a) ${check(a.value, every)}; (c) ${check(c.value.totals)}; ${load()}`);

  const cases: { label: string; size: number; onProgress?: (jobId: string, s: ProgressCounts) => void }[] = [
    { label: "(d) pool, 1 worker", size: 1 },
    { label: `(e) pool, ${CORES} workers`, size: CORES },
  ];
  // the real realtime path, on the short set as before: progress goes through the hub (coalesced
  // per 50 ms tick, rendered once, Bun pub/sub) to a WebSocket client in another process
  const watch = name === "short" ? await watchedHub() : undefined;
  if (watch) cases.push({ label: `(f) pool, ${CORES} workers, a client watching`, size: CORES, onProgress: watch.onProgress });
  const seconds: number[] = [];
  for (const k of cases) {
    const { seconds: sec, all, cpu, outcome } = await poolRun(store, warm, unit, k.size, k.onProgress);
    seconds.push(sec);
    if (outcome.status !== "complete" || outcome.result.kind !== "grid") throw new Error(`${k.label}: ${outcome.status}`);
    console.log(`${k.label} (new kernel, auto): ${fmt(work / sec)} (best of ${all.map((x) => x.toFixed(2)).join(", ")} s, cpu/wall ${cpu.toFixed(2)}), ` +
      `${(b.wall / sec).toFixed(2)}x (b); ${check(outcome.result.splits)}`);
  }
  if (watch) console.log(`(f) vs (e): ${((seconds[1] / seconds[2]) * 100).toFixed(1)}% of (e)'s rate; the client received ${await watch.stop()} progress messages`);
  const line = `[${name}] new/today single thread ${(cRate / bRate).toFixed(2)}x wall, ${(b.cpu / c.cpu).toFixed(2)}x per cpu-s; ` +
    `new/plain ${(cRate / aRate).toFixed(2)}x; pool ${CORES}/1 worker ${(seconds[0] / seconds[1]).toFixed(2)}x; ${load()}`;
  console.log(line);
  summary.push(line);
}
console.log(`\nsummary (ratios within one run):`);
for (const line of summary) console.log(`  ${line}`);
console.log(mismatched === 0 ? "every result bit-identical to today's kernel" : `${mismatched} pair results DIFFER`);
if (mismatched > 0) process.exitCode = 1;

/** A hub on a real server and a client process subscribed to the bench job's socket. */
async function watchedHub() {
  const { Elysia } = await import("elysia");
  const rt = await import("../src/realtime");
  const { mountProtocolRoutes } = await import("../src/http/routes/sockets.ts");
  const settings = rt.resolveRealtimeSettings({});
  const transport = rt.createLateTransport();
  const hub = rt.createHub({ transport, tickMs: settings.tickMs });
  const registry = rt.createRegistry({ maxConnections: 100, maxConnectionsPerIp: 100, published: hub.published });
  const app = new Elysia({ websocket: rt.websocketOptions(settings) });
  mountProtocolRoutes(app, rt.mountRealtime(app, { hub, registry, settings, transport }));
  app.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `ws://127.0.0.1:${app.server!.port}/ws/grid-search/bench-${CORES}`;
  const client = Bun.spawn([process.execPath, "-e", `
    let n = 0; const ws = new WebSocket(${JSON.stringify(url)});
    ws.onmessage = () => n++;
    ws.onopen = () => console.log("open");
    ws.onclose = (e) => console.log("closed " + e.code);
    process.on("SIGTERM", () => { console.log(n); process.exit(0); });
    setTimeout(() => { console.log(n); process.exit(0); }, 600000);`], { stdout: "pipe" });
  const reader = client.stdout.getReader();
  const first = new TextDecoder().decode((await reader.read()).value).trim();
  if (first !== "open") throw new Error(`the watching client could not open ${url}: ${first}`);
  return {
    onProgress: (jobId: string, s: ProgressCounts) => hub.set(rt.jobTopic(jobId), { ...s }),
    async stop() {
      client.kill("SIGTERM");
      // the count, unless the socket's close line comes first
      let text = "";
      const deadline = Bun.sleep(5000).then(() => null);
      while (!/^\d+$/m.test(text)) {
        const chunk = await Promise.race([reader.read(), deadline]);
        if (!chunk || chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      client.kill("SIGKILL");
      await client.exited;
      await app.stop(true);
      hub.close();
      return text.match(/^(\d+)$/m)?.[1] ?? `? (${JSON.stringify(text.trim())})`;
    },
  };
}
