// Where the kernel's jumps beat its scan: both forced, and the "auto" rule, on games of 64 to
// 20,000 ticks and on entries that trade from every few ticks to a few times a game.
// Usage: bun scripts/bench-kernel.ts [--quick] [--ticks 500000]
//
// Each row runs 1024 pairs of one entry (exits spread over [0, e)) over games of one length and
// model, single thread, and prints ns per pair-game: the scan's, the jump's (index build
// included, shared by the 1024 pairs as by a worker's unit) and auto's. "long" games rest near edge 0 with rare spikes
// (scripts/lib/grid-games.ts longGames); "noisy" games draw a fresh edge every tick (|edge| up
// to 0.08), the short-game bench model, at every length. The crossover is read off per length as
// the ticks per trade at which jump and scan cost the same (log-interpolated between rows).
//
// Measured (2 vCPU Xeon, load average ~2, bun 1.4; jump gain = scan ns / jump ns):
//   16-32 ticks a game: no gain anywhere (0.5x to 1.0x); 64 ticks: up to 1.7x for pairs trading
//   less than once every ~50 ticks; 128: up to 3x, from ~32 ticks per trade; 256 to 20,000:
//   from ~20-23 ticks per trade, 4x (256) to 10-14x (5,000: 2.6-4 trades a pair-game) and 75x
//   for pairs that never trade. Pairs trading every 3 ticks (noisy games) jump at 0.3-0.6x.
//   The index's build costs ~4.5 ns a tick, 5-7 scans of a pair.
// So kernel.ts keeps the scan for games under 64 ticks, games fewer than 16 pairs run on, and
// pairs whose neighbour traded more than once every 32 ticks; auto then ran within 10% of the
// better way on every row.
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { GameKernel, JUMP_MIN_PAIRS, JUMP_MIN_TICKS, JUMP_TICKS_PER_TRADE, type KernelChoice } from "../src/compute/kernel.ts";
import { longGames } from "./lib/grid-games.ts";

const { values: args } = parseArgs({
  options: { quick: { type: "boolean", default: false }, ticks: { type: "string" } },
});
const TICKS = Number(args.ticks ?? (args.quick ? 40_000 : 120_000));
const REPS = 3;
const LENGTHS = [16, 32, 64, 128, 256, 512, 1000, 2000, 5000, 20000];
const ENTRIES = [0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.12];
const PAIRS = 1024;

interface Game { price: Float64Array; fair: Float64Array; outcome: number }

function noisyGames(count: number, n: number, seed: number): Game[] {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  return Array.from({ length: count }, () => {
    const price = new Float64Array(n);
    const fair = new Float64Array(n);
    let p = 0.5;
    for (let i = 0; i < n; i++) {
      p = Math.min(0.95, Math.max(0.05, p + (rand() - 0.5) * 0.03));
      price[i] = p;
      fair[i] = p + (rand() - 0.5) * 0.16;
    }
    return { price, fair, outcome: rand() < 0.5 ? 0 : 1 };
  });
}

const kernel = new GameKernel();
const out = [new Float64Array(PAIRS), new Float64Array(PAIRS), new Float64Array(PAIRS)];

/** One pass of `how` over the games; returns ms and the trades per pair-game. */
function pass(games: Game[], entries: Float64Array, exits: Float64Array, how: KernelChoice | "load"): { ms: number; trades: number } {
  let trades = 0;
  const t0 = performance.now();
  for (const g of games) {
    kernel.load(g.price, g.fair, 0, g.price.length, entries.length);
    if (how === "load") continue;
    kernel.run(g.outcome, entries, exits, 0, entries.length, 0.001, out[0], out[1], out[2], how);
    for (let j = 0; j < entries.length; j++) trades += out[1][j];
  }
  return { ms: performance.now() - t0, trades: trades / (games.length * entries.length) };
}

/** Best of REPS for each way, interleaved so a burst of load on the machine hits them alike. */
function timeAll(games: Game[], entries: Float64Array, exits: Float64Array) {
  const best = { scan: Infinity, jump: Infinity, auto: Infinity };
  let trades = 0;
  for (let r = 0; r < REPS; r++) {
    for (const how of ["scan", "jump", "auto"] as const) {
      const p = pass(games, entries, exits, how);
      best[how] = Math.min(best[how], p.ms);
      trades = p.trades;
    }
  }
  const per = (ms: number) => (ms * 1e6) / (games.length * PAIRS);
  return { trades, scan: per(best.scan), jump: per(best.jump), auto: per(best.auto) };
}

console.log(`bench-kernel: ${TICKS} ticks per length, ${PAIRS} pairs per row, best of ${REPS}; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`rule: scan games under ${JUMP_MIN_TICKS} ticks, games fewer than ${JUMP_MIN_PAIRS} pairs run on, pairs whose neighbour traded more than once every ${JUMP_TICKS_PER_TRADE} ticks`);
console.log("model  ticks/game  entry  trades/pair  ticks/trade   scan ns  jump ns  auto ns  jump gain  auto/best");
const crossovers: string[] = [];
let worstAuto = 0;
for (const n of LENGTHS) {
  const count = Math.max(1, Math.round(TICKS / n));
  const points: { ticksPerTrade: number; gain: number }[] = [];
  for (const model of ["long", "noisy"] as const) {
    const games: Game[] = model === "long" ? longGames(count, n, n) : noisyGames(count, n, n);
    for (const e of ENTRIES) {
      const entries = new Float64Array(PAIRS).fill(e);
      const exits = Float64Array.from({ length: PAIRS }, (_, j) => (j / PAIRS) * e);
      const r = timeAll(games, entries, exits);
      const ticksPerTrade = r.trades > 0 ? n / r.trades : Infinity;
      const gain = r.scan / r.jump;
      const autoVsBest = r.auto / Math.min(r.scan, r.jump);
      worstAuto = Math.max(worstAuto, autoVsBest);
      points.push({ ticksPerTrade, gain });
      console.log(`${model.padEnd(6)} ${String(n).padStart(10)}  ${e.toFixed(3)}  ${r.trades.toFixed(2).padStart(11)}  ${ticksPerTrade.toFixed(1).padStart(11)}  ${r.scan.toFixed(0).padStart(8)} ${r.jump.toFixed(0).padStart(8)} ${r.auto.toFixed(0).padStart(8)}  ${gain.toFixed(2).padStart(8)}x  ${autoVsBest.toFixed(2).padStart(8)}`);
    }
  }
  points.sort((a, b) => a.ticksPerTrade - b.ticksPerTrade);
  const cross = points.findIndex((p, i) => i > 0 && points[i - 1].gain < 1 && p.gain >= 1);
  if (points.every((p) => p.gain < 1)) crossovers.push(`${n} ticks: the scan wins at every density`);
  else if (points.every((p) => p.gain >= 1)) crossovers.push(`${n} ticks: jumps win at every density measured (down to ${points[0].ticksPerTrade.toFixed(1)} ticks per trade)`);
  else if (cross > 0) {
    const [a, b] = [points[cross - 1], points[cross]];
    const t = Math.log(a.gain) / (Math.log(a.gain) - Math.log(b.gain)); // where log gain = 0
    const at = Math.exp(Math.log(a.ticksPerTrade) + t * (Math.log(Math.min(b.ticksPerTrade, 1e9)) - Math.log(a.ticksPerTrade)));
    crossovers.push(`${n} ticks: jumps win from ~${at.toFixed(0)} ticks per trade (${(n / at).toFixed(1)} trades per pair per game) up; best gain ${Math.max(...points.map((p) => p.gain)).toFixed(2)}x`);
  }
}

// The index's build, in scans of one pair: what a game's pairs must save between them. A pair
// with an entry no tick reaches makes one search (nearly free) and one scan (the cheapest).
for (const n of [64, 256, 5000]) {
  const games = longGames(Math.max(1, Math.round((4 * TICKS) / n)), n, 1);
  const e = Float64Array.of(10);
  const x = Float64Array.of(0);
  const best = { load: Infinity, scan: Infinity, jump: Infinity };
  for (let r = 0; r < REPS; r++) for (const how of ["load", "scan", "jump"] as const) best[how] = Math.min(best[how], pass(games, e, x, how).ms);
  const perTick = (ms: number) => (ms * 1e6) / (games.length * n);
  console.log(`${n}-tick games: load (edges) ${perTick(best.load).toFixed(2)} ns/tick; a pair's scan ${perTick(best.scan - best.load).toFixed(2)} ns/tick; ` +
    `index build ${perTick(best.jump - best.load).toFixed(2)} ns/tick = ${((best.jump - best.load) / (best.scan - best.load)).toFixed(1)} scans of a pair`);
}
console.log("crossover (jump gain = 1):");
for (const c of crossovers) console.log(`  ${c}`);
console.log(`auto vs the better of scan and jump, worst row: ${worstAuto.toFixed(2)}x; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
