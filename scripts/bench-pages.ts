// The pages, measured: time to first paint of a running job's page (chromium), the bytes of each
// live update fragment the page socket sends, and the server's CPU per thousand page subscribers
// at 20 updates/s (a job topic set every 50 ms, rendered once per tick and fanned out by Bun).
// Usage: bun scripts/bench-pages.ts [--subscribers 1000] [--seconds 10]
// The server runs in a child process (this script with --serve), so its CPU is its own; the
// subscribers are WebSockets opened from this process.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    serve: { type: "boolean", default: false },
    subscribers: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
  },
});

const FAKE_JOB = "bench-fake-job";

if (args.serve) {
  // Child: a real server (PGlite in a temp dir), plus a job topic set 20 times a second (the tick is
  // 40 ms so the hub never holds one of them back to the next tick).
  const { parseArgs: cli, resolveConfig } = await import("../src/config/resolve.ts");
  const { silentLogger } = await import("../src/log/logger.ts");
  const { startServer } = await import("../src/server/lifecycle.ts");
  const { jobTopic } = await import("../src/realtime/index.ts");
  const dataDir = mkdtempSync(join(tmpdir(), "gridcast-bench-pages-"));
  const config = resolveConfig(cli(["serve", "--port", "0", "--data-dir", dataDir, "--max-connections-per-ip", "100000", "--tick-ms", "40"]), {});
  const server = await startServer({ config, logger: silentLogger, version: "bench" });
  await server.ready;
  let i = 0;
  const total = 1_000_000_000;
  const tick = () => server.hub.set(jobTopic(FAKE_JOB), { status: "running", current: (i += 123_457) % total, total, current_combo: `entry=${(0.01 + (i % 97) / 1000).toFixed(3)}, exit=0.005` });
  tick();
  setInterval(tick, 50);
  setInterval(() => {
    const u = process.cpuUsage();
    console.log(JSON.stringify({ cpu_us: u.user + u.system, at: performance.now(), stats: server.hub.stats() }));
  }, 250);
  console.log(JSON.stringify({ url: server.url }));
} else {
  const child = Bun.spawn([process.execPath, import.meta.path, "--serve"], { stdout: "pipe", stderr: "inherit" });
  let last: { cpu_us: number; at: number; stats: { renders: number; messages: number; bytes: number; deliveries: number } } | undefined;
  let url = "";
  const ready = (async () => {
    const reader = child.stdout.getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += new TextDecoder().decode(value);
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const msg = JSON.parse(line);
        if (msg.url) url = msg.url;
        else last = msg;
      }
    }
  })();
  void ready;
  while (!url) await Bun.sleep(50);
  const ws = url.replace("http", "ws");
  console.log(`server ${url}`);

  // 1. Fragment bytes of a real job page socket, and time to first paint of that page.
  await fetch(`${url}/api/games/demo?games=2000&seed=1`, { method: "POST" });
  const run = await fetch(`${url}/api/grid-search/run`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ entry_start: 0.0005, entry_stop: 0.6, entry_step: 0.0005, exit_start: 0, exit_stop: 0.5, exit_step: 0.0005 }) });
  const { request_id } = await run.json();
  const sizes: number[] = [];
  const legacy: number[] = [];
  const page = new WebSocket(`${ws}/pages/ws/jobs/${request_id}`);
  page.onmessage = (e) => sizes.push(Buffer.byteLength(String(e.data)));
  const json = new WebSocket(`${ws}/ws/grid-search/${request_id}`);
  json.onmessage = (e) => legacy.push(Buffer.byteLength(String(e.data)));
  await Bun.sleep(3000);
  page.close();
  json.close();
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);
  console.log(`job page fragment: ${sizes.length} messages in 3 s, mean ${mean(sizes).toFixed(0)} B, max ${Math.max(...sizes)} B (the JSON progress message: mean ${mean(legacy).toFixed(0)} B)`);

  const { hasChromium, launch } = await import("../test/browser/browser.ts");
  if (hasChromium) {
    const b = await launch();
    const paints: number[] = [];
    for (let k = 0; k < 5; k++) {
      const p = await b.context.newPage();
      await p.goto(`${url}/jobs/${request_id}`);
      const fcp = await p.evaluate(() => new Promise<number>((resolve) => {
        const get = () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime;
        const t = get();
        if (t !== undefined) return resolve(t);
        new PerformanceObserver(() => { const v = get(); if (v !== undefined) resolve(v); }).observe({ type: "paint", buffered: true });
      }));
      const nav = await p.evaluate(() => (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).responseEnd);
      const live = await p.evaluate(() => new Promise<number>((resolve) => {
        const check = () => (document.getElementById("live")?.dataset.live === "live" ? resolve(performance.now()) : setTimeout(check, 5));
        check();
      }));
      if (k > 0) paints.push(fcp); // the first load warms the caches
      console.log(`  load ${k + 1}: response ${nav.toFixed(1)} ms, first contentful paint ${fcp.toFixed(1)} ms, socket live ${live.toFixed(1)} ms`);
      await p.close();
    }
    paints.sort((a, b) => a - b);
    console.log(`job page first contentful paint: median ${paints[Math.floor(paints.length / 2)].toFixed(1)} ms (chromium headless, same machine)`);
    await b.close();
  } else console.log("time to first paint: skipped (no chromium)");
  await fetch(`${url}/api/jobs/${request_id}/cancel`, { method: "POST" });
  await Bun.sleep(1000);

  // 2. Server CPU at 20 updates/s: no subscribers, then N page subscribers on the same topic.
  const seconds = Number(args.seconds);
  async function window(label: string) {
    await Bun.sleep(1000);
    const a = last!;
    await Bun.sleep(seconds * 1000);
    const b = last!;
    const cpuMs = (b.cpu_us - a.cpu_us) / 1000;
    const wallMs = b.at - a.at;
    const msgs = b.stats.messages - a.stats.messages;
    const renders = b.stats.renders - a.stats.renders;
    const deliveries = b.stats.deliveries - a.stats.deliveries;
    console.log(`${label}: server CPU ${((cpuMs / wallMs) * 100).toFixed(2)}% of a core; ${(msgs / (wallMs / 1000)).toFixed(1)} publishes/s, ${(renders / (wallMs / 1000)).toFixed(1)} renders/s, ${(deliveries / (wallMs / 1000)).toFixed(0)} deliveries/s, ${((b.stats.bytes - a.stats.bytes) / msgs || 0).toFixed(0)} B per fragment`);
    return { cpu: cpuMs / wallMs, rate: msgs / (wallMs / 1000) };
  }
  const idle = await window("0 page subscribers");
  const n = Number(args.subscribers);
  const clients: WebSocket[] = [];
  let received = 0;
  for (let k = 0; k < n; k++) {
    const c = new WebSocket(`${ws}/pages/ws/jobs/${FAKE_JOB}`);
    c.onmessage = () => received++;
    clients.push(c);
    if (k % 100 === 99) await Bun.sleep(20);
  }
  while (clients.some((c) => c.readyState === WebSocket.CONNECTING)) await Bun.sleep(50);
  const r0 = received;
  const busy = await window(`${n} page subscribers`);
  console.log(`clients received ${((received - r0) / (seconds + 1) / n).toFixed(1)} messages/s each`);
  // The interval timer may deliver a little under 20 sets/s on a loaded machine: scale to 20/s.
  const extra = ((busy.cpu - idle.cpu) * 1000) / n;
  const at20 = busy.rate > 0 ? (extra * 20) / busy.rate : extra;
  console.log(`server CPU per 1000 page subscribers: ${(extra * 100).toFixed(2)}% of a core at ${busy.rate.toFixed(1)} updates/s, so ${(at20 * 100).toFixed(2)}% (${(at20 * 1000).toFixed(0)} ms CPU per second) at 20 updates/s`);
  for (const c of clients) c.close();
  child.kill();
  await child.exited;
  process.exit(0);
}
