// The cluster bus in figures (README "Several daemons (cluster)"): two daemons on one PostgreSQL
// (a scratch database on DATABASE_URL's server, dropped at the end). Loopback only; every loop
// bounded; a watchdog kills both daemons and exits 1 past the time budget. Figures only.
//
// Usage: DATABASE_URL=postgres://... bun scripts/bench-bus.ts [--signals 200] [--signal-rate 20]
//          [--burst 300] [--burst-games 10] [--burst-ticks 5] [--flush-ms 50] [--repeat 3]
//
// 1. signal delivery: ticks that each cause exactly one signal are POSTed to node A at
//    --signal-rate a second; a `signals` subscriber on A (the node that stored it) and one on B
//    (which hears of it on the bus and reads it from the store) stamp each signal's arrival.
//    Shown: send -> arrival on A and on B (p50/p99), and B - A per signal: the bus's extra
//    delivery latency (the flush wait, the NOTIFY, the store read). Median of --repeat runs.
// 2. notifications during a burst: --burst ingest requests back to back, alternating A and B, each
//    --burst-games games x --burst-ticks ticks, with two strategies deployed. Shown per node: the
//    NOTIFYs and messages sent (from /health's cluster.bus) per second of the burst, and ticks/s.
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";

const { values: opt } = parseArgs({
  options: {
    signals: { type: "string", default: "200" }, "signal-rate": { type: "string", default: "20" },
    burst: { type: "string", default: "300" }, "burst-games": { type: "string", default: "10" }, "burst-ticks": { type: "string", default: "5" },
    "flush-ms": { type: "string", default: "50" }, repeat: { type: "string", default: "3" },
  },
});
const num = (k: keyof typeof opt) => Number(opt[k]);
const url = process.env.DATABASE_URL;
if (!url) {
  console.error("bench-bus: set DATABASE_URL to a PostgreSQL server this script may create a database on");
  process.exit(2);
}
const MAIN = join(import.meta.dir, "../src/main.ts");
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs: number[]) => pct(xs, 50);
const f1 = (x: number) => x.toFixed(1);

const procs: ReturnType<typeof Bun.spawn>[] = [];
process.on("exit", () => { for (const p of procs) try { p.kill("SIGKILL"); } catch {} });
const watchdog = setTimeout(() => {
  console.error("bench-bus: over its time budget: killing the daemons");
  process.exit(1);
}, 600_000);

async function daemon(id: string, dbUrl: string): Promise<string> {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--port", "0", "--data-dir", join(mkdtempSync(join(tmpdir(), "bench-bus-")), "d"),
    "--log-format", "json", "--node-id", id, "--workers", "1", "--cluster-flush-ms", opt["flush-ms"]!], {
    env: { ...process.env, DATABASE_URL: dbUrl }, stdout: "ignore", stderr: "pipe",
  });
  procs.push(proc);
  // One reader drains the daemon's log for its whole life (a full pipe would stall it).
  const dec = new TextDecoder();
  let buffered = "";
  let base: string | undefined;
  const pump = (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      if (base) continue;
      buffered += dec.decode(chunk, { stream: true });
      base = /"msg":"listening".*?"url":"([^"]+)"/.exec(buffered)?.[1];
    }
  })().catch(() => {});
  for (let i = 0; i < 600 && !base && proc.exitCode === null; i++) await sleep(50);
  if (!base) {
    await Promise.race([pump, sleep(500)]);
    throw new Error(`${id} did not start: ${buffered.slice(-500)}`);
  }
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => null))?.status === 200) return base;
    await sleep(50);
  }
  throw new Error(`${id} never healthy`);
}

const post = (base: string, rows: object[]) => fetch(`${base}/api/live/ticks`, {
  method: "POST", signal: AbortSignal.timeout(30_000), headers: { "content-type": "application/x-ndjson" }, body: rows.map((r) => JSON.stringify(r)).join("\n") + "\n",
});

function subscriber(base: string, onSignal: (t: number, at: number) => void): Promise<WebSocket> {
  const ws = new WebSocket(`${base.replace("http", "ws")}/ws`);
  return new Promise((resolve, reject) => {
    ws.onmessage = (e) => {
      const at = now();
      const m = JSON.parse(String(e.data));
      if (m.type === "welcome") ws.send(JSON.stringify({ type: "subscribe", topic: "signals" }));
      else if (m.type === "subscription_confirmed") resolve(ws);
      else if (m.type === "signal") onSignal(m.signal.t, at);
    };
    ws.onerror = () => reject(new Error("socket error"));
  });
}

async function run(round: number) {
  const admin = postgres(url!, { max: 1, onnotice: () => {} });
  const name = `gridcast_bench_bus_${process.pid}_${round}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(url!);
  u.pathname = `/${name}`;
  try {
    const a = await daemon("bench-a", u.toString());
    const b = await daemon("bench-b", u.toString());
    await fetch(`${a}/api/strategies`, { method: "POST", body: JSON.stringify({ name: "lat", entry: 0.05, exit: 0.01, fee: 0 }) });
    // The deploy reaches B on the bus before the first signal does.
    await sleep(500);
    const arrivals = { a: new Map<number, number>(), b: new Map<number, number>() };
    const wsA = await subscriber(a, (t, at) => arrivals.a.set(t, at));
    const wsB = await subscriber(b, (t, at) => arrivals.b.set(t, at));
    const sent = new Map<number, number>();
    const n = num("signals"), gap = 1000 / num("signal-rate");
    const start = now();
    for (let k = 1; k <= n; k++) {
      const due = start + k * gap;
      if (due > now()) await sleep(due - now());
      sent.set(k, now());
      // Edge 0.1 opens a long (entry 0.05), edge 0 closes it (exit 0.01): one signal a tick.
      const r = await post(a, [{ game_id: "lat", t: k, price: 0.4, fair: k % 2 === 1 ? 0.5 : 0.4 }]);
      if (r.status !== 200) throw new Error(`ingest ${r.status}`);
    }
    for (let i = 0; i < 100 && (arrivals.a.size < n || arrivals.b.size < n); i++) await sleep(50);
    const onA: number[] = [], onB: number[] = [], extra: number[] = [];
    for (const [k, t0] of sent) {
      const ta = arrivals.a.get(k), tb = arrivals.b.get(k);
      if (ta !== undefined) onA.push(ta - t0);
      if (tb !== undefined) onB.push(tb - t0);
      if (ta !== undefined && tb !== undefined) extra.push(tb - ta);
    }
    wsA.close(); wsB.close();

    // The burst.
    await fetch(`${a}/api/strategies`, { method: "POST", body: JSON.stringify({ name: "burst", entry: 0.02, exit: 0.005, fee: 0 }) });
    await sleep(300);
    const bus = async (base: string) => (await (await fetch(`${base}/health`)).json()).cluster.bus as { sent: number; notifications: number };
    const before = { a: await bus(a), b: await bus(b) };
    const G = num("burst-games"), T = num("burst-ticks"), R = num("burst");
    const t0 = now();
    for (let r = 0; r < R; r++) {
      const rows: object[] = [];
      for (let g = 0; g < G; g++) for (let i = 0; i < T; i++) {
        const t = r * T + i + 1;
        rows.push({ game_id: `burst-${g}`, t, price: 0.5, fair: 0.5 + 0.03 * Math.sin(t / 3 + g) });
      }
      const res = await post(r % 2 === 0 ? a : b, rows);
      if (res.status !== 200) throw new Error(`burst ingest ${res.status}`);
    }
    const secs = (now() - t0) / 1000;
    await sleep(200);
    const after = { a: await bus(a), b: await bus(b) };
    const perNode = (k: "a" | "b") => ({
      notifyPerS: (after[k].notifications - before[k].notifications) / secs,
      messagesPerS: (after[k].sent - before[k].sent) / secs,
    });
    return {
      onA: { p50: pct(onA, 50), p99: pct(onA, 99) }, onB: { p50: pct(onB, 50), p99: pct(onB, 99) }, extra: { p50: pct(extra, 50), p99: pct(extra, 99) },
      missing: { a: n - arrivals.a.size, b: n - arrivals.b.size },
      burst: { secs, requestsPerS: R / secs, ticksPerS: (R * G * T) / secs, a: perNode("a"), b: perNode("b") },
    };
  } finally {
    for (const p of procs.splice(0)) { p.kill("SIGTERM"); await p.exited; }
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

console.log(`bench-bus: load average ${loadavg().map(f1).join(" ")}; --cluster-flush-ms ${opt["flush-ms"]}, ${opt.signals} signals at ${opt["signal-rate"]}/s, burst ${opt.burst} x ${opt["burst-games"]} games x ${opt["burst-ticks"]} ticks`);
const runs: Awaited<ReturnType<typeof run>>[] = [];
for (let i = 0; i < num("repeat"); i++) {
  console.error(`run ${i + 1} of ${runs.length + num("repeat") - i}...`);
  const r = await run(i);
  runs.push(r);
  console.log(`run ${i + 1}: signal send->A p50 ${f1(r.onA.p50)} p99 ${f1(r.onA.p99)} ms; send->B p50 ${f1(r.onB.p50)} p99 ${f1(r.onB.p99)} ms; ` +
    `B-A p50 ${f1(r.extra.p50)} p99 ${f1(r.extra.p99)} ms; missing A ${r.missing.a} B ${r.missing.b}; ` +
    `burst ${f1(r.burst.requestsPerS)} req/s ${Math.round(r.burst.ticksPerS)} ticks/s, NOTIFY/s A ${f1(r.burst.a.notifyPerS)} B ${f1(r.burst.b.notifyPerS)}, ` +
    `messages/s A ${f1(r.burst.a.messagesPerS)} B ${f1(r.burst.b.messagesPerS)}`);
}
const m = (f: (r: (typeof runs)[0]) => number) => f1(median(runs.map(f)));
console.log(`median of ${runs.length}: extra delivery latency on the other node (B - A) p50 ${m((r) => r.extra.p50)} ms, p99 ${m((r) => r.extra.p99)} ms ` +
  `(send->A p50 ${m((r) => r.onA.p50)} / p99 ${m((r) => r.onA.p99)}, send->B p50 ${m((r) => r.onB.p50)} / p99 ${m((r) => r.onB.p99)}); ` +
  `burst: NOTIFY/s per node A ${m((r) => r.burst.a.notifyPerS)} B ${m((r) => r.burst.b.notifyPerS)} at ${m((r) => r.burst.requestsPerS)} requests/s ` +
  `(messages/s A ${m((r) => r.burst.a.messagesPerS)} B ${m((r) => r.burst.b.messagesPerS)}); load average ${loadavg().map(f1).join(" ")}`);
clearTimeout(watchdog);
process.exit(0);
