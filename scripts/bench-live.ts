// Live games (live.md), in one run, on PGlite and on PostgreSQL (a throwaway server, see
// scripts/lib/throwaway-pg.ts, or DATABASE_URL when set). Loopback only; every loop bounded in
// count and time; a watchdog kills every child and exits 1 past the run's time budget.
//
// Usage: bun scripts/bench-live.ts [--databases pglite,postgres] [--ticks 30000] [--strategies 0,10,100]
//          [--batch 1000] [--games 40] [--game-ticks 300] [--phase-s 30] [--repeat 3]
//          [--rps-clients 4] [--rps-games 10] [--rps-count 20000] [--rps-s 5] [--rps-strategies 10]
//          [--subscribers 1000] [--client-procs 2] [--signal-rate 20] [--latency-s 10] [--tick-ms 50]
//          [--starter-clients 20] [--starter-delay-ms 2000] [--starter-s 6] [--parts 1,2,3,4]
//        (about 5 minutes on 2 cores at these defaults)
//
// What each figure means:
// 1. ingest ticks/s: ingestTicks (src/live/ingest.ts) called back to back with requests of
//    --batch ticks (--games games side by side, a few ticks each, --game-ticks to a game; each
//    wave of games settled as it ends, untimed), with 0, 10 and 100 strategies deployed through
//    createStrategy, each measurement in a process and a fresh database of its own. Prices walk
//    and fair drifts from them (scripts/lib/live-games.ts), so strategies open and close. Beside
//    it: importGames (src/games/import.ts, as bench-import.ts runs it) on the very same ticks as a
//    CSV, and the ratio ingest / import (goal: at least 0.3x with 10 strategies on PostgreSQL).
//    Each is run --repeat times (a fresh process and database each) and the median run is shown.
// 2. single-tick requests/s: POST /api/live/ticks with one tick per request (NDJSON), from
//    --rps-clients concurrent loops against a real server (startServer in a child process: the
//    roles are in scripts/lib/live-bench-roles.ts) with
//    --rps-strategies strategies deployed; each loop has --rps-games games of its own.
// 3. signal delivery: --subscribers sockets on /ws subscribed to `signals`, in --client-procs
//    processes; ticks that each cause exactly one signal are POSTed at --signal-rate a second.
//    Latency: receipt minus the moment just before the POST was sent (so at most a loopback hop
//    above "from the request's arrival"); split into arrival -> publish (the hub's onPublish on
//    `signals`, stamped in the server) and publish -> receipt (the bare fan-out). Clocks are
//    comparable across processes as performance.timeOrigin + performance.now(). Goal: p99 at
//    most one broadcast tick (--tick-ms) plus the fan-out p99 (bench-ws.ts measures it bare;
//    here the publish -> receipt p99 of the same run stands in for it).
// 4. starter lateness: --auth on, --starter-delay-ms D, --starter-clients sockets of a viewer
//    token of tier starter subscribed to `signals`; lateness = receipt - (POST sent + D), so
//    the ingest's own time counts as lateness; and receipt - (the common copy's publish + D),
//    what the delay path itself adds. Beside them the hub's own figure
//    (hub.stats().delayed.lateness: how late after its due time each delayed copy went out).
// The machine's load average is printed at the start and in the summary: on a shared machine
// every figure moves with it. Figures only; nothing here asserts a timing.
import { parseArgs } from "node:util";
import { loadavg } from "node:os";
import type { DatabaseKind } from "../src/db/database";
import { Child, sleep, watchdog, withTimeout, type Msg } from "./lib/bench-children";
import { LatencyHist } from "./lib/latency-hist";
import { generateGame, strategyParams, type LiveTick, type StreamShape } from "./lib/live-games";
import { throwawayPostgres } from "./lib/throwaway-pg";

const ROLES = new URL("./lib/live-bench-roles.ts", import.meta.url).pathname;
const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------
// Parent.
const { values: opt } = parseArgs({
  args: process.argv.slice(2),
  options: {
    databases: { type: "string", default: "pglite,postgres" },
    parts: { type: "string", default: "1,2,3,4" },
    ticks: { type: "string", default: "30000" },
    repeat: { type: "string", default: "3" },
    strategies: { type: "string", default: "0,10,100" },
    batch: { type: "string", default: "1000" },
    games: { type: "string", default: "40" },
    "game-ticks": { type: "string", default: "300" },
    "phase-s": { type: "string", default: "30" },
    "rps-clients": { type: "string", default: "4" },
    "rps-count": { type: "string", default: "20000" },
    "rps-s": { type: "string", default: "5" },
    "rps-strategies": { type: "string", default: "10" },
    "rps-games": { type: "string", default: "10" },
    subscribers: { type: "string", default: "1000" },
    "client-procs": { type: "string", default: "2" },
    "signal-rate": { type: "string", default: "20" },
    "latency-s": { type: "string", default: "10" },
    "tick-ms": { type: "string", default: "50" },
    "starter-clients": { type: "string", default: "20" },
    "starter-delay-ms": { type: "string", default: "2000" },
    "starter-s": { type: "string", default: "6" },
  },
  allowPositionals: false,
  strict: true,
}) as { values: Record<string, string> };

const num = (k: string) => Number(opt[k]);
const parts = new Set(opt.parts.split(",").map(Number));
const shape: StreamShape = { gamesPerWave: num("games"), ticksPerGame: num("game-ticks"), batchTicks: num("batch") };
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en") : "-");
const ms1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "-");
const load = () => loadavg().map((x) => x.toFixed(1)).join(" ");
/** Small ratios keep a significant digit or two (0.004x, not 0.00x). */
const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v < 0.1 ? 3 : 2)}x` : "-");
const ms2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "-");

interface ThroughputResult { strategies: number; ticks: number; ms: number; signals: number; batchP50: number; batchP99: number; settled: number; settleMs: number }
interface Results {
  import?: { ticks: number; ms: number };
  ingest: ThroughputResult[];
  rps?: { requests: number; seconds: number; errors: number; p50: number; p99: number; strategies: number; signals: number; clients: number };
  latency?: { note?: string; subscribers: number; confirmed: number; signals: number; expected: number; minPerSocket: number; total: LatencyHist; server: LatencyHist; fanout: LatencyHist; post: LatencyHist; unmatched: number };
  starter?: { note?: string; clients: number; confirmed: number; delayMs: number; lateness: LatencyHist; afterPublish: LatencyHist; received: number; expected: number; hub?: Record<string, unknown> };
}

async function inChild<T>(role: string, cmd: string, args: Msg, timeoutMs: number): Promise<T> {
  const c = new Child(ROLES, [role]);
  try {
    await withTimeout(c.ready, 20_000, `${role} start`);
    return (await c.ask(cmd, args, timeoutMs)) as T;
  } finally {
    await c.end();
  }
}

/** The run of median rate of `repeat` runs, each in a fresh process and database: a run is a few hundred ms, and one alone moves with whatever else the machine did then. */
async function medianRun<T extends { ticks: number; ms: number }>(repeat: number, run: () => Promise<T>): Promise<{ median: T; rates: number[] }> {
  const runs: T[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await run());
  const rates = runs.map((x) => x.ticks / (x.ms / 1000));
  const order = runs.map((_, i) => i).sort((a, b) => rates[a] - rates[b]);
  return { median: runs[order[Math.floor((repeat - 1) / 2)]], rates };
}

async function runThroughput(kind: DatabaseKind, pgUrl: string | undefined, r: Results): Promise<void> {
  const ticks = num("ticks");
  const maxMs = num("phase-s") * 1000;
  const repeat = Math.max(1, num("repeat"));
  const runs = (rates: number[]) => (rates.length > 1 ? ` (median of ${rates.map(int).join(", ")})` : "");
  const imported = await medianRun(repeat, () => inChild<{ ticks: number; ms: number }>("throughput", "import", { kind, pgUrl, ticks, shape }, maxMs * 4 + 60_000));
  r.import = imported.median;
  console.log(`  import: ${int(r.import.ticks)} ticks in ${ms1(r.import.ms)} ms: ${int(r.import.ticks / (r.import.ms / 1000))} ticks/s${runs(imported.rates)}`);
  for (const strategies of opt.strategies.split(",").map(Number)) {
    const { median: x, rates } = await medianRun(repeat, () => inChild<ThroughputResult>("throughput", "ingest", { kind, pgUrl, ticks, shape, strategies, maxMs }, maxMs + 120_000));
    x.strategies = strategies;
    r.ingest.push(x);
    console.log(`  ingest, ${strategies} strategies: ${int(x.ticks)} ticks in ${ms1(x.ms)} ms: ${int(x.ticks / (x.ms / 1000))} ticks/s${runs(rates)}, ` +
      `${int(x.signals)} signals; a ${shape.batchTicks}-tick request p50 ${ms1(x.batchP50)} p99 ${ms1(x.batchP99)} ms; ` +
      `${x.settled} games settled (untimed) at ${ms1(x.settleMs / Math.max(1, x.settled))} ms each`);
  }
}

async function post(url: string, path: string, body: string, token?: string, type = "application/json"): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: "POST", body,
    headers: { "content-type": type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
}

async function deploy(url: string, params: { name: string; entry: number; exit: number; fee: number }[], token?: string): Promise<number[]> {
  const ids: number[] = [];
  for (const p of params) {
    const res = await post(url, "/api/strategies", JSON.stringify(p), token);
    if (res.status !== 201) throw new Error(`POST /api/strategies: ${res.status} ${await res.text()}`);
    ids.push(((await res.json()) as { id: number }).id);
  }
  return ids;
}

async function stopAll(url: string, ids: number[], token?: string): Promise<void> {
  for (const id of ids) await (await post(url, `/api/strategies/${id}/stop`, "", token)).arrayBuffer();
}

/** Part 2: --rps-clients loops, one tick per POST, each on games of its own, bounded by count and time. */
async function runRequests(url: string, r: Results): Promise<number[]> {
  const ids = await deploy(url, strategyParams(num("rps-strategies")).map((p) => ({ ...p, name: `rps-${p.name}` })));
  const clients = num("rps-clients");
  const perClient = Math.ceil(num("rps-count") / clients);
  const gamesPer = num("rps-games");
  const hist = new LatencyHist();
  let errors = 0, signals = 0, requests = 0;
  const deadline = performance.now() + num("rps-s") * 1000;
  const loop = async (c: number) => {
    const games = Array.from({ length: gamesPer }, (_, g) => generateGame(`rps-${c}-${g}`, Math.ceil(perClient / gamesPer), 77 + c * 31 + g));
    for (let k = 0; k < perClient && performance.now() < deadline; k++) {
      const tick = games[k % gamesPer].ticks[Math.floor(k / gamesPer)];
      const t0 = performance.now();
      const res = await post(url, "/api/live/ticks", `${JSON.stringify(tick)}\n`, undefined, "application/x-ndjson");
      const body = await res.text();
      hist.record(performance.now() - t0);
      requests++;
      if (res.status !== 200) {
        if (errors++ === 0) console.log(`  first failed request: ${res.status} ${body.slice(0, 200)}`);
      } else signals += (JSON.parse(body) as { signals: number }).signals;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
  const seconds = (performance.now() - t0) / 1000;
  r.rps = { requests, seconds, errors, p50: hist.quantile(0.5), p99: hist.quantile(0.99), strategies: ids.length, signals, clients };
  console.log(`  single-tick requests: ${int(requests)} in ${seconds.toFixed(1)} s from ${clients} clients: ${int(requests / seconds)} requests/s ` +
    `(${errors} failed; ${int(signals)} signals), each p50 ${ms2(r.rps.p50)} p99 ${ms2(r.rps.p99)} ms, ${ids.length} strategies`);
  return ids;
}

/** Clients in `procs` processes, `n` sockets in all, subscribed to `signals`. */
async function spawnClients(procs: number, n: number, url: string, token?: string) {
  const per = Array.from({ length: procs }, (_, i) => Math.floor(n / procs) + (i < n % procs ? 1 : 0)).filter((k) => k > 0);
  const clients = per.map(() => new Child(ROLES, ["clients"]));
  await Promise.all(clients.map((c) => withTimeout(c.ready, 20_000, "client start")));
  const replies = await Promise.all(clients.map((c, i) => c.ask("connect", { url, n: per[i], concurrency: 100, token, timeoutMs: 40_000 }, 50_000)));
  return { clients, confirmed: replies.reduce((a, x) => a + x.confirmed, 0), failed: replies.reduce((a, x) => a + x.failed, 0) };
}

/** Waits until every socket has `expected` signals (or the time is up); the fewest on a socket. */
async function awaitDeliveries(clients: Child[], expected: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(clients.map((c) => c.ask("count")));
    const min = Math.min(...counts.map((x) => x.min));
    if (min >= expected || performance.now() > deadline) return min;
    await sleep(100);
  }
}

/**
 * Signal-causing ticks at `rate` a second for `ms` (bounded by count and time): tick k on game
 * `prefix-(k mod 8)`, its edge alternating 0.1 (a strategy with entry 0.05 opens) and 0 (it
 * closes), so each tick makes one signal per such strategy. Requests are not awaited in line (a
 * slow commit must not shift the schedule), except behind the previous tick of the same game: two
 * of a game in flight at once could arrive out of order and be refused. A tick sent over 20 ms
 * after its slot counts as late (the server is behind the offered rate).
 */
async function signalLoad(url: string, prefix: string, rate: number, ms: number, token?: string) {
  const sent: [string, number][] = [];
  const rtt = new LatencyHist();
  const count = Math.max(2, Math.floor((rate * ms) / 1000));
  const start = performance.now();
  const deadline = start + ms + 20_000;
  let failed = 0, late = 0, signals = 0;
  let firstFailure = "";
  const lastOfGame = new Map<string, Promise<void>>();
  const inflight: Promise<void>[] = [];
  for (let k = 0; k < count && performance.now() < deadline; k++) {
    const slot = start + (k * 1000) / rate;
    if (slot > performance.now()) await sleep(slot - performance.now());
    const game = `${prefix}-${k % 8}`;
    const t = Math.floor(k / 8) + 1;
    const price = 0.3 + (0.4 * ((k * 7919) % 100)) / 100;
    const fair = t % 2 === 1 ? price + 0.1 : price;
    const tick: LiveTick = { game_id: game, t, price: Number(price.toFixed(4)), fair: Number(fair.toFixed(4)) };
    const body = `${JSON.stringify(tick)}\n`;
    const send = async () => {
      if (performance.now() > slot + 20) late++;
      const at = now();
      sent.push([`${game}|${t}`, at]);
      const res = await post(url, "/api/live/ticks", body, token, "application/x-ndjson");
      const text = await res.text();
      rtt.record(now() - at);
      if (res.status === 200) signals += (JSON.parse(text) as { signals: number }).signals;
      else if (failed++ === 0) firstFailure = `${res.status} ${text.slice(0, 200)}`;
    };
    const p = (lastOfGame.get(game) ?? Promise.resolve()).then(send);
    lastOfGame.set(game, p);
    inflight.push(p);
  }
  await withTimeout(Promise.all(inflight), 30_000, "signal ticks");
  if (firstFailure) console.log(`  first failed tick: ${firstFailure}`);
  return { sent, rtt, failed, late, signals };
}

const mergeHists = (xs: { data: Msg }[]) => {
  const h = new LatencyHist();
  for (const x of xs) h.merge(x.data as never);
  return h;
};

/** Part 3 on the server of part 2 (its strategies stopped): one strategy, one signal per tick. */
async function runLatency(server: Child, url: string, port: number, r: Results): Promise<void> {
  await deploy(url, [{ name: "latency", entry: 0.05, exit: 0.01, fee: 0 }]);
  const n = num("subscribers");
  const c = await spawnClients(num("client-procs"), n, `ws://127.0.0.1:${port}/ws`);
  try {
    console.log(`  ${c.confirmed} of ${n} sockets subscribed to signals (${c.failed} refused)`);
    // A probe: does a signal reach a socket at all?
    const probe = await signalLoad(url, "probe", 10, 200);
    const got = await awaitDeliveries(c.clients, Math.max(1, probe.signals), 5000);
    if (got === 0) {
      r.latency = emptyLatency(n, c.confirmed, "no signal reached a `signals` subscriber in 5 s (not published on /ws?)");
      console.log(`  ${r.latency.note}`);
      return;
    }
    await Promise.all(c.clients.map((x) => x.ask("reset")));
    await server.ask("publishes");
    const load = await signalLoad(url, "lat", num("signal-rate"), num("latency-s") * 1000);
    const min = await awaitDeliveries(c.clients, load.signals, 15_000);
    const { publishes } = await server.ask("publishes");
    const scores = await Promise.all(c.clients.map((x) => x.ask("score", { sent: load.sent, published: publishes }, 60_000)));
    const total = mergeHists(scores.map((s) => ({ data: s.total })));
    const fanout = mergeHists(scores.map((s) => ({ data: s.fanout })));
    // The server's half: from the send to the publish of the tick's signal.
    const serverSide = new LatencyHist();
    const sentAt = new Map(load.sent);
    for (const [, at, key] of publishes as [number, number, string][]) {
      const s = sentAt.get(key);
      if (s !== undefined) serverSide.record(at - s);
    }
    r.latency = {
      subscribers: n, confirmed: c.confirmed, signals: load.signals, expected: load.signals * c.confirmed,
      minPerSocket: min, total, server: serverSide, fanout, post: load.rtt,
      unmatched: scores.reduce((a, s) => a + s.unmatched, 0),
    };
    console.log(`  ${load.sent.length} signal ticks at ${opt["signal-rate"]}/s (${load.failed} failed, ${load.late} sent late), ${load.signals} signals: ` +
      `${int(total.n)} deliveries (fewest on a socket ${min}; ${r.latency.unmatched} unmatched); send -> receipt p50 ${ms2(total.quantile(0.5))} p99 ${ms2(total.quantile(0.99))} ` +
      `max ${ms2(total.max)} ms; send -> publish p50 ${ms2(serverSide.quantile(0.5))} p99 ${ms2(serverSide.quantile(0.99))} ms; ` +
      `publish -> receipt p50 ${ms2(fanout.quantile(0.5))} p99 ${ms2(fanout.quantile(0.99))} ms; POST p50 ${ms2(load.rtt.quantile(0.5))} ms`);
  } finally {
    await Promise.all(c.clients.map((x) => x.end("close")));
  }
}

function emptyLatency(n: number, confirmed: number, note: string): NonNullable<Results["latency"]> {
  const e = new LatencyHist();
  return { note, subscribers: n, confirmed, signals: 0, expected: 0, minPerSocket: 0, total: e, server: e, fanout: e, post: e, unmatched: 0 };
}

/** Part 4: a server with --auth on and a short starter delay; starter sockets on `signals`. */
async function runStarter(kind: DatabaseKind, pgUrl: string | undefined, r: Results): Promise<void> {
  const delayMs = num("starter-delay-ms");
  const server = new Child(ROLES, ["server"]);
  const lateness = new LatencyHist();
  const afterPublish = new LatencyHist();
  try {
    await withTimeout(server.ready, 20_000, "server start");
    const s = await server.ask("start", { kind, pgUrl, auth: true, tickMs: num("tick-ms"), starterDelayMs: delayMs }, 60_000);
    if (!s.starterDelay) console.log("  (this build has no --starter-delay-ms: starters get the default delay)");
    await deploy(s.url, [{ name: "starter", entry: 0.05, exit: 0.01, fee: 0 }], s.tokens.operator);
    const c = await spawnClients(1, num("starter-clients"), `ws://127.0.0.1:${s.port}/ws`, s.tokens.starter);
    try {
      await server.ask("publishes");
      const load = await signalLoad(s.url, "starter", Math.max(1, num("signal-rate") / 4), num("starter-s") * 1000, s.tokens.operator);
      const min = await awaitDeliveries(c.clients, load.signals, delayMs + 15_000);
      const { publishes } = await server.ask("publishes");
      const scores = await Promise.all(c.clients.map((x) => x.ask("score", { sent: load.sent, published: publishes, delayMs }, 60_000)));
      for (const x of scores) {
        lateness.merge(x.total);
        afterPublish.merge(x.fanout);
      }
      const stats = await server.ask("stats");
      const hub = (stats.hub as Msg).delayed as Record<string, unknown> | undefined;
      r.starter = { clients: num("starter-clients"), confirmed: c.confirmed, delayMs, lateness, afterPublish, received: lateness.n, expected: load.signals * c.confirmed, hub };
      if (lateness.n === 0) r.starter.note = `no delayed signal reached a starter socket within ${delayMs + 15_000} ms`;
      console.log(`  ${c.confirmed} starter sockets, ${load.sent.length} signal ticks (${load.failed} failed), ${load.signals} signals, delay ${delayMs} ms: ${int(lateness.n)} deliveries ` +
        `(fewest on a socket ${min}); lateness after due p50 ${ms2(lateness.quantile(0.5))} p99 ${ms2(lateness.quantile(0.99))} ` +
        `min ${ms2(lateness.min)} max ${ms2(lateness.max)} ms; after the common copy's publish + delay p50 ${ms2(afterPublish.quantile(0.5))} ` +
        `p99 ${ms2(afterPublish.quantile(0.99))} min ${ms2(afterPublish.min)} ms; hub: ${hub ? JSON.stringify({ ...hub, lateness: undefined }) : "no delayed figures"}`);
    } finally {
      await Promise.all(c.clients.map((x) => x.end("close")));
    }
  } finally {
    await server.end();
  }
}

async function runDatabase(kind: DatabaseKind, pgUrl: string | undefined): Promise<Results> {
  const r: Results = { ingest: [] };
  if (parts.has(1)) {
    console.log(`\n== ${kind}: ingest and import throughput`);
    await runThroughput(kind, pgUrl, r);
  }
  if (parts.has(2) || parts.has(3)) {
    console.log(`\n== ${kind}: a server (auth off, --tick-ms ${opt["tick-ms"]})`);
    const server = new Child(ROLES, ["server"]);
    try {
      await withTimeout(server.ready, 20_000, "server start");
      const s = await server.ask("start", { kind, pgUrl, auth: false, tickMs: num("tick-ms") }, 60_000);
      const ids = parts.has(2) ? await runRequests(s.url, r) : [];
      await stopAll(s.url, ids);
      if (parts.has(3)) await runLatency(server, s.url, s.port, r);
    } finally {
      await server.end();
    }
  }
  if (parts.has(4)) {
    console.log(`\n== ${kind}: starter deliveries (auth on)`);
    await runStarter(kind, pgUrl, r);
  }
  return r;
}

function summary(all: Map<DatabaseKind, Results>): void {
  const kinds = [...all.keys()];
  const W = 44, C = 22;
  console.log(`\nbench-live summary (${navigator.hardwareConcurrency} cores, load ${load()}, bun ${Bun.version}, ${Math.round(performance.now() / 1000)} s; requests of ${shape.batchTicks} ticks, ` +
    `${shape.gamesPerWave} games side by side, ${shape.ticksPerGame} ticks a game)`);
  console.log(`${"".padEnd(W)}${kinds.map((k) => k.padStart(C)).join("")}`);
  const line = (label: string, get: (r: Results) => string) => console.log(`${label.padEnd(W)}${kinds.map((k) => get(all.get(k)!).padStart(C)).join("")}`);
  const rate = (x?: { ticks: number; ms: number }) => (x ? x.ticks / (x.ms / 1000) : NaN);
  if (parts.has(1)) {
    line("import path, ticks/s", (r) => int(rate(r.import)));
    for (const n of opt.strategies.split(",").map(Number)) {
      const of = (r: Results) => r.ingest.find((x) => x.strategies === n);
      line(`ingest, ${n} strategies, ticks/s`, (r) => int(rate(of(r))));
      line(`  vs import${n === 10 ? " (goal >= 0.3x on postgres)" : ""}`, (r) => (of(r) && r.import ? ratio(rate(of(r)) / rate(r.import)) : "-"));
      line(`  request of ${shape.batchTicks} p50 / p99, ms`, (r) => (of(r) ? `${ms1(of(r)!.batchP50)} / ${ms1(of(r)!.batchP99)}` : "-"));
    }
  }
  if (parts.has(2)) {
    line("single-tick requests/s", (r) => (r.rps ? int(r.rps.requests / r.rps.seconds) : "-"));
    line("  request p50 / p99, ms", (r) => (r.rps ? `${ms2(r.rps.p50)} / ${ms2(r.rps.p99)}` : "-"));
    line("  clients / strategies / failed", (r) => (r.rps ? `${r.rps.clients} / ${r.rps.strategies} / ${r.rps.errors}` : "-"));
  }
  if (parts.has(3)) {
    const goal = (r: Results) => num("tick-ms") + (r.latency?.fanout.quantile(0.99) ?? NaN);
    line(`delivery to ${opt.subscribers} subscribers p50, ms`, (r) => ms2(r.latency?.total.quantile(0.5) ?? NaN));
    line("delivery p99, ms", (r) => ms2(r.latency?.total.quantile(0.99) ?? NaN));
    line("  send -> publish p50 / p99, ms", (r) => (r.latency ? `${ms2(r.latency.server.quantile(0.5))} / ${ms2(r.latency.server.quantile(0.99))}` : "-"));
    line("  fan-out (publish -> receipt) p99, ms", (r) => ms2(r.latency?.fanout.quantile(0.99) ?? NaN));
    line(`  goal: tick ${opt["tick-ms"]} + fan-out p99, ms`, (r) => ms2(goal(r)));
    line("  p99 / goal", (r) => (r.latency?.total.n ? `${(r.latency.total.quantile(0.99) / goal(r)).toFixed(2)}x` : "-"));
    line("  deliveries / expected", (r) => (r.latency ? `${int(r.latency.total.n)} / ${int(r.latency.expected)}` : "-"));
  }
  if (parts.has(4)) {
    line(`starter lateness p50 / p99, ms (${opt["starter-delay-ms"]} delay)`, (r) => (r.starter?.lateness.n ? `${ms2(r.starter.lateness.quantile(0.5))} / ${ms2(r.starter.lateness.quantile(0.99))}` : "-"));
    line("  after publish + delay p50 / p99, ms", (r) => (r.starter?.afterPublish.n ? `${ms2(r.starter.afterPublish.quantile(0.5))} / ${ms2(r.starter.afterPublish.quantile(0.99))}` : "-"));
    line("  hub's own lateness p50 / p99, ms", (r) => {
      const l = (r.starter?.hub?.lateness ?? undefined) as { p50_ms?: number; p99_ms?: number; count?: number } | undefined;
      return l?.count ? `${ms2(l.p50_ms!)} / ${ms2(l.p99_ms!)}` : "-";
    });
    line("  deliveries / expected", (r) => (r.starter ? `${int(r.starter.received)} / ${int(r.starter.expected)}` : "-"));
  }
  for (const [k, r] of all) {
    for (const note of [r.latency?.note, r.starter?.note]) if (note) console.log(`note (${k}): ${note}`);
  }
}

async function runParent(): Promise<void> {
  const kinds = opt.databases.split(",") as DatabaseKind[];
  const phase = num("phase-s") * 1000;
  const perDb = (parts.has(1) ? phase * 6 + 60_000 : 0) + (parts.has(2) ? num("rps-s") * 1000 + 30_000 : 0) +
    (parts.has(3) ? num("latency-s") * 1000 + 90_000 : 0) + (parts.has(4) ? num("starter-s") * 1000 + num("starter-delay-ms") + 60_000 : 0);
  const budget = kinds.length * perDb + 60_000;
  const dog = watchdog(budget, "bench-live");
  const pg = kinds.includes("postgres") ? await throwawayPostgres() : undefined;
  console.log(`bench-live: ${kinds.join(", ")}; parts ${[...parts].join(",")}; ${navigator.hardwareConcurrency} cores, load ${load()}; budget ${Math.round(budget / 1000)} s` +
    (kinds.includes("postgres") ? `; PostgreSQL: ${pg ? (process.env.DATABASE_URL ? "DATABASE_URL" : "a throwaway server") : "none found (install postgresql or set DATABASE_URL)"}` : ""));
  const all = new Map<DatabaseKind, Results>();
  try {
    for (const kind of kinds) {
      if (kind === "postgres" && !pg) continue;
      all.set(kind, await runDatabase(kind, pg?.url));
    }
  } finally {
    pg?.stop();
  }
  clearTimeout(dog);
  summary(all);
}

try {
  await runParent();
  process.exit(0);
} catch (error) {
  console.error("bench-live failed:", error);
  process.exit(1);
}
