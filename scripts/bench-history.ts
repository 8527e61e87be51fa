// Publish rate with the performance history recording on versus off, in one run: a daemon
// (startServer, in this process, on one PGlite database shared by every round) with --subscribers
// sockets on /ws subscribed to `signals`, and events emitted on that topic back to back in batches
// for --round-s; the figure is the hub's publishes per second (each fanned out by Bun to every
// subscriber). Rounds alternate off (--metrics-history-interval-ms 0) and on (--interval-ms, and
// the default 10000), so a drift of the shared machine hits both alike; the ratio is the median
// of on over the median of off (goal: within 2%). Loopback only, bounded in rounds and time.
//
// Usage: bun scripts/bench-history.ts [--rounds 4] [--round-s 3] [--subscribers 50] [--interval-ms 1000]
import { loadavg, tmpdir } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseArgs as parseCli, resolveConfig } from "../src/config/resolve";
import type { Database } from "../src/db/database";
import { silentLogger } from "../src/log/logger";
import { SIGNALS_TOPIC } from "../src/realtime";
import { startServer } from "../src/server/lifecycle";
import { benchDatabase } from "./lib/bench-database";
import { watchdog } from "./lib/bench-children";

const { values: opt } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rounds: { type: "string", default: "4" },
    "round-s": { type: "string", default: "3" },
    subscribers: { type: "string", default: "50" },
    "interval-ms": { type: "string", default: "1000" },
  },
});
const rounds = Math.min(20, Number(opt.rounds));
const roundMs = Math.min(30, Number(opt["round-s"])) * 1000;
const subscribers = Math.min(1000, Number(opt.subscribers));
const modes = [["off", "0"], ["on", opt["interval-ms"]!], ["on-default", "10000"]] as const;
const dog = watchdog(((rounds * modes.length + 1) * (roundMs + 8000)) + 120_000, "bench-history");

async function round(database: Database, intervalMs: string): Promise<{ rate: number; rows: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "gridcast-bench-history-"));
  const config = resolveConfig(parseCli(["serve", "--port", "0", "--data-dir", dataDir, "--metrics-history-interval-ms", intervalMs]), {});
  const server = await startServer({
    config, logger: silentLogger, version: "bench", print: () => {},
    openDatabase: async () => ({ ...database, close: async () => {} }),
  });
  await server.ready;
  const sockets: WebSocket[] = [];
  try {
    await Promise.all(Array.from({ length: subscribers }, () => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws`);
      sockets.push(ws);
      ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", topic: SIGNALS_TOPIC }));
      ws.onmessage = (e) => { if (String(e.data).includes("subscription_confirmed")) resolve(); };
      ws.onerror = () => reject(new Error("socket failed"));
    })));
    const before = server.hub.stats().messages;
    const started = performance.now();
    let i = 0;
    while (performance.now() - started < roundMs) {
      for (let k = 0; k < 100; k++) server.hub.emit(SIGNALS_TOPIC, { type: "signal", signal: { id: ++i, action: "open_long", price: 0.5 } });
      await new Promise((r) => setImmediate(r)); // let sockets, timers and the recorder run
    }
    const seconds = (performance.now() - started) / 1000;
    return { rate: (server.hub.stats().messages - before) / seconds, rows: server.history.stats().rows };
  } finally {
    for (const ws of sockets) ws.close();
    await server.stop(2000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`bench-history: ${rounds} rounds x ${modes.length} modes of ${roundMs / 1000} s, ${subscribers} subscribers on signals; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
const database = await benchDatabase("pglite");
const rates: Record<string, number[]> = Object.fromEntries(modes.map(([m]) => [m, []]));
try {
  // One unmeasured round first: the first daemon of a process pays for the JIT warming up.
  await round(database, "0");
  for (let r = 0; r < rounds; r++) {
    // Rotate the order too, so no mode always runs first after a daemon start.
    for (let k = 0; k < modes.length; k++) {
      const [mode, interval] = modes[(r + k) % modes.length];
      const { rate, rows } = await round(database, interval);
      rates[mode].push(rate);
      console.log(`  round ${r + 1} ${mode.padEnd(10)} interval ${interval.padStart(5)} ms: ${Math.round(rate).toLocaleString("en-US")} publishes/s (${rows} history rows)`);
    }
  }
} finally {
  await database.close();
  clearTimeout(dog);
}
const off = median(rates.off);
for (const [mode, interval] of modes.slice(1)) {
  const on = median(rates[mode]);
  console.log(`publish rate, history ${mode} (${interval} ms) / off: ${(on / off).toFixed(3)} (median ${Math.round(on).toLocaleString("en-US")} vs ${Math.round(off).toLocaleString("en-US")} publishes/s; goal within 2%)`);
}
console.log(`load average at the end ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
