// Grid-search throughput: a plain single-thread loop against the worker pool, on synthetic games.
// Usage: bun scripts/bench-grid.ts [--games 8000] [--pairs 2000] [--workers <cores>] [--unit <pairs>]
// "cpu/wall" is the process's CPU time over wall time: below the worker count, other processes
// on the machine were taking cores, and the figure understates the pool.
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { evalGame, simulateGame } from "../src/compute/kernel.ts";
import { createPool, defaultUnitSize, type JobOutcome } from "../src/compute/pool.ts";
import type { ProgressCounts } from "../src/compute/progress.ts";
import { splitBounds } from "../src/compute/splits.ts";
import { buildStore, type GameInput, type GameStore } from "../src/compute/store.ts";
import { SPLIT_NAMES } from "../src/compute/units.ts";

const { values: args } = parseArgs({
  options: {
    games: { type: "string", default: "8000" },
    pairs: { type: "string", default: "2000" },
    workers: { type: "string", default: String(availableParallelism()) },
    unit: { type: "string" },
  },
});
const GAMES = Number(args.games);
const PAIRS = Number(args.pairs);
const CORES = Number(args.workers);

/** Seeded random walk games, about 130 ticks each: 8000 games give just over 1M ticks. */
function syntheticGames(count: number, seed: number): GameInput[] {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  const games: GameInput[] = [];
  for (let g = 0; g < count; g++) {
    const n = 60 + Math.floor(rand() * 141);
    const price = new Float64Array(n);
    const fair = new Float64Array(n);
    let p = 0.2 + 0.6 * rand();
    for (let i = 0; i < n; i++) {
      p = clamp(p + (rand() - 0.5) * 0.03);
      price[i] = p;
      fair[i] = clamp(p + (rand() - 0.5) * 0.16);
    }
    games.push({ id: `g${g}`, price, fair, outcome: rand() < 0.5 ? 0 : 1 });
  }
  return games;
}

/** At least `count` pairs (e, x) with x < e from an even grid. */
function syntheticPairs(count: number): { entries: Float64Array; exits: Float64Array } {
  const side = Math.ceil(Math.sqrt(2 * count)) + 1;
  const entries: number[] = [];
  const exits: number[] = [];
  for (let i = 1; i <= side; i++) {
    for (let j = 0; j < i; j++) (entries.push(i * 0.002), exits.push(j * 0.002));
  }
  return { entries: Float64Array.from(entries.slice(0, count)), exits: Float64Array.from(exits.slice(0, count)) };
}

/** (a) The baseline: per pair, per game, simulateGame, summed per split in game order. */
function plainLoop(store: GameStore, entries: Float64Array, exits: Float64Array, fee: number): Float64Array {
  const splits = splitBounds(store.games);
  const train = new Float64Array(entries.length);
  const [a, b] = splits.train;
  for (let p = 0; p < entries.length; p++) {
    for (const name of SPLIT_NAMES) {
      const [from, to] = splits[name];
      let pnl = 0;
      for (let g = from; g < to; g++) {
        pnl += simulateGame(store.price, store.fair, store.offsets[g], store.offsets[g + 1], store.outcomes[g], entries[p], exits[p], fee).pnl;
      }
      if (from === a && to === b) train[p] = pnl;
    }
  }
  return train;
}

/** (a2) The pool's own kernel and cache layout (a pair block per game), single thread, no
 *  pool: the fair yardstick for how well the pool scales, apart from the kernel's own speed. */
function kernelLoop(store: GameStore, entries: Float64Array, exits: Float64Array, fee: number, block: number): void {
  const out = [new Float64Array(block), new Float64Array(block), new Float64Array(block)];
  const sum = new Float64Array(entries.length);
  for (let from = 0; from < entries.length; from += block) {
    const to = Math.min(from + block, entries.length);
    for (let g = 0; g < store.games; g++) {
      evalGame(store.price, store.fair, store.offsets[g], store.offsets[g + 1], store.outcomes[g], entries, exits, from, to, fee, out[0], out[1], out[2]);
      for (let i = 0; i < to - from; i++) sum[from + i] += out[0][i];
    }
  }
}

async function poolRun(store: GameStore, entries: Float64Array, exits: Float64Array, fee: number, size: number,
  onProgress?: (jobId: string, s: ProgressCounts) => void): Promise<{ seconds: number; cpu: number; outcome: JobOutcome }> {
  const pool = createPool({ size });
  try {
    await Bun.sleep(50); // let the workers load, as they would in a server that started earlier
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const id = `bench-${size}`;
    const outcome = await pool.submit({ id, kind: "grid", store, entries, exits, fee, unitSize: UNIT }, { onProgress: onProgress && ((s) => onProgress(id, s)) }).result;
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, cpu: cpuPerWall(c0, seconds), outcome };
  } finally {
    await pool.close();
  }
}

function cpuPerWall(since: NodeJS.CpuUsage, seconds: number): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6 / seconds;
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

const store = buildStore(syntheticGames(GAMES, 7), "bench");
const UNIT = args.unit ? Number(args.unit) : defaultUnitSize(store);
const { entries, exits } = syntheticPairs(PAIRS);
const fee = 0.001;
const work = store.ticks * entries.length;
const rate = (sec: number) => work / sec;
const fmt = (r: number) => `${(r / 1e6).toFixed(1)}M pair-ticks/s`;

console.log(`${store.games} games, ${store.ticks} ticks, ${entries.length} pairs: ${(work / 1e9).toFixed(2)}G pair-ticks; unit ${UNIT} pairs`);
const rawBytes = store.ticks * 16;
console.log(`store: ${store.byteLength} bytes for ${rawBytes} raw tick bytes (price + fair as float64): ${(store.byteLength / rawBytes).toFixed(4)}x`);

console.log(`machine: ${CORES} Workers of pure ALU run ${(await aluCeiling(CORES)).toFixed(2)}x one (the ceiling for (c) / (b))`);

const c0 = process.cpuUsage();
const t0 = performance.now();
const baseline = plainLoop(store, entries, exits, fee);
const aSec = (performance.now() - t0) / 1000;
console.log(`(a) single-thread loop, main thread: ${fmt(rate(aSec))} (${aSec.toFixed(2)} s, cpu/wall ${cpuPerWall(c0, aSec).toFixed(2)})`);

const c2 = process.cpuUsage();
const t2 = performance.now();
kernelLoop(store, entries, exits, fee, UNIT);
const a2Sec = (performance.now() - t2) / 1000;
console.log(`(a2) same kernel, single thread, no pool: ${fmt(rate(a2Sec))} (${a2Sec.toFixed(2)} s, cpu/wall ${cpuPerWall(c2, a2Sec).toFixed(2)})`);

// (d): the real realtime path. Progress goes through the hub (coalesced per 50 ms tick, rendered once,
// Bun pub/sub) to a WebSocket client in another process watching /ws/grid-search/{id}.
const watch = await watchedHub();
const cases: { label: string; size: number; onProgress?: (jobId: string, s: ProgressCounts) => void }[] = [
  { label: "(b) pool, 1 worker", size: 1 },
  { label: `(c) pool, ${CORES} workers`, size: CORES },
  { label: `(d) pool, ${CORES} workers, a client watching`, size: CORES, onProgress: watch.onProgress },
];
const seconds: Record<string, number> = {};
for (const c of cases) {
  const { seconds: sec, cpu, outcome } = await poolRun(store, entries, exits, fee, c.size, c.onProgress);
  seconds[c.label] = sec;
  if (outcome.status !== "complete" || outcome.result.kind !== "grid") throw new Error(`${c.label}: ${outcome.status}`);
  let diff = 0;
  for (let p = 0; p < entries.length; p++) diff = Math.max(diff, Math.abs(outcome.result.splits.train.pnl[p] - baseline[p]));
  console.log(`${c.label}: ${fmt(rate(sec))} (${sec.toFixed(2)} s, cpu/wall ${cpu.toFixed(2)}), ${(aSec / sec).toFixed(2)}x (a), ${(a2Sec / sec).toFixed(2)}x (a2); max |train pnl - (a)| = ${diff.toExponential(1)}`);
}
const [, c, d] = cases.map((x) => seconds[x.label]);
console.log(`(d) vs (c): ${((c / d) * 100).toFixed(1)}% of (c)'s rate; the client received ${await watch.stop()} progress messages`);

/** A hub on a real server and a client process subscribed to the bench job's socket. */
async function watchedHub() {
  const { Elysia } = await import("elysia");
  const rt = await import("../src/realtime");
  const settings = rt.resolveRealtimeSettings({});
  const transport = rt.createLateTransport();
  const hub = rt.createHub({ transport, tickMs: settings.tickMs });
  const registry = rt.createRegistry({ maxConnections: 100, maxConnectionsPerIp: 100, published: hub.published });
  const app = new Elysia({ websocket: rt.websocketOptions(settings) });
  rt.mountRealtime(app, { hub, registry, settings, transport });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `ws://127.0.0.1:${app.server!.port}/ws/grid-search/bench-${CORES}`;
  const client = Bun.spawn([process.execPath, "-e", `
    let n = 0; const ws = new WebSocket(${JSON.stringify(url)});
    ws.onmessage = () => n++;
    ws.onopen = () => console.log("open");
    process.on("SIGTERM", () => { console.log(n); process.exit(0); });
    setTimeout(() => { console.log(n); process.exit(0); }, 600000);`], { stdout: "pipe" });
  const reader = client.stdout.getReader();
  await reader.read(); // "open"
  return {
    onProgress: (jobId: string, s: ProgressCounts) => hub.set(rt.jobTopic(jobId), { ...s }),
    async stop() {
      client.kill("SIGTERM");
      const out = await reader.read();
      await app.stop(true);
      hub.close();
      return Number(new TextDecoder().decode(out.value).trim());
    },
  };
}
