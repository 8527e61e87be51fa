// Bytes on the wire, plain, gzip and brotli, for a 20,050-pair grid search's results document and
// a 1M-tick games export, and the CPU time compressing costs per MB, all in one run: a daemon
// (startServer, in this process, on a fresh PGlite, or PostgreSQL with --postgres and
// DATABASE_URL) gets 1,000 games of 1,000 ticks, runs the grid on 20 of them, and each body is
// fetched over loopback three times (Accept-Encoding identity, gzip, br; undecoded). The CPU
// figure compresses the plain body again through the server's own compressor (src/http/
// compression.ts), measured with process.cpuUsage (all threads) against the bytes read, median
// of --reps; the fetch times are given as ratios to the plain fetch of the same run. The time to
// the first byte shows the compressed bodies stream: were they compressed whole first, it would
// come near the end.
//
// Usage: bun scripts/bench-compression.ts [--reps 3] [--games 1000] [--ticks 1000] [--postgres]
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseArgs as parseCli, resolveConfig } from "../src/config/resolve";
import { COMPRESSION, compressor, type Encoding } from "../src/http/compression";
import { silentLogger } from "../src/log/logger";
import { startServer } from "../src/server/lifecycle";
import { benchDatabase } from "./lib/bench-database";
import { watchdog } from "./lib/bench-children";

const { values: opt } = parseArgs({
  args: process.argv.slice(2),
  options: { reps: { type: "string", default: "3" }, games: { type: "string", default: "1000" }, ticks: { type: "string", default: "1000" }, postgres: { type: "boolean", default: false } },
});
const reps = Math.min(10, Number(opt.reps));
const games = Math.min(10_000, Number(opt.games));
const ticksPerGame = Math.min(10_000, Number(opt.ticks));
const dog = watchdog(20 * 60_000, "bench-compression");

/** The import's CSV, made as it is sent: a random walk per game, its outcome on every row. */
function gamesCsv(): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let g = 0;
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
  return new ReadableStream({
    start(c) {
      c.enqueue(enc.encode("game_id,t,price,fair,outcome\n"));
    },
    pull(c) {
      if (g === games) return c.close();
      let fair = 0.5;
      let rows = "";
      const outcome = rnd() < 0.5 ? 1 : 0;
      for (let t = 0; t < ticksPerGame; t++) {
        fair = Math.min(0.99, Math.max(0.01, fair + (rnd() - 0.5) * 0.04));
        // Edges up to 0.3 either way, so thresholds across the whole grid trade (the results vary pair to pair).
        const price = Math.round(Math.min(0.99, Math.max(0.01, fair + (rnd() - 0.5) * 0.6)) * 100) / 100;
        rows += `bench-${g},${t},${price},${fair.toFixed(4)},${outcome}\n`;
      }
      g++;
      c.enqueue(enc.encode(rows));
    },
  });
}

/** One fetch as sent: bytes on the wire, the time to the first and to the last byte. */
async function onWire(url: string, acceptEncoding: string) {
  const started = performance.now();
  const res = await fetch(url, { headers: { "accept-encoding": acceptEncoding }, decompress: false } as RequestInit);
  let bytes = 0;
  let firstMs = 0;
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (bytes === 0) firstMs = performance.now() - started;
    bytes += chunk.byteLength;
    if (acceptEncoding === "identity") chunks.push(chunk); // the plain body is kept: the CPU figure compresses it again
  }
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  const encoding = res.headers.get("content-encoding") ?? "identity";
  if (encoding !== acceptEncoding) throw new Error(`${url}: asked ${acceptEncoding}, got ${encoding}`);
  return { bytes, ms, firstMs, body: acceptEncoding === "identity" ? Buffer.concat(chunks) : undefined };
}

/** CPU (user + system, every thread) to compress `body` through the server's compressor, in 64 KiB chunks as a stream gives them. */
async function cpuPerMb(body: Buffer, encoding: Encoding): Promise<{ cpuMsPerMb: number; wallMsPerMb: number; out: number }> {
  const runs: { cpu: number; wall: number; out: number }[] = [];
  for (let r = 0; r < reps; r++) {
    let i = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        if (i >= body.byteLength) return c.close();
        c.enqueue(body.subarray(i, i + 65_536));
        i += 65_536;
      },
    });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let out = 0;
    for await (const chunk of source.pipeThrough(compressor(encoding, COMPRESSION)) as unknown as AsyncIterable<Uint8Array>) out += chunk.byteLength;
    const cpu = process.cpuUsage(cpu0);
    runs.push({ cpu: (cpu.user + cpu.system) / 1000, wall: performance.now() - t0, out });
  }
  const mb = body.byteLength / 1e6;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { cpuMsPerMb: median(runs.map((r) => r.cpu)) / mb, wallMsPerMb: median(runs.map((r) => r.wall)) / mb, out: runs[0].out };
}

const kind = opt.postgres ? "postgres" : "pglite";
if (opt.postgres && !process.env.DATABASE_URL) throw new Error("--postgres needs DATABASE_URL");
console.log(`bench-compression: ${games} games x ${ticksPerGame} ticks on ${kind}, reps ${reps}; brotli quality ${COMPRESSION.brotliQuality}, gzip level ${COMPRESSION.gzipLevel}, min ${COMPRESSION.minBytes} B; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
const database = await benchDatabase(kind, process.env.DATABASE_URL);
const dataDir = mkdtempSync(join(tmpdir(), "gridcast-bench-compression-"));
const config = resolveConfig(parseCli(["serve", "--port", "0", "--data-dir", dataDir, "--max-import-bytes", String(2 ** 30)]), {});
const server = await startServer({ config, logger: silentLogger, version: "bench", print: () => {}, openDatabase: async () => ({ ...database, close: async () => {} }) });
try {
  await server.ready;
  const base = server.url;
  let t0 = performance.now();
  const imported = await fetch(`${base}/api/games/import`, { method: "POST", body: gamesCsv(), headers: { "content-type": "text/csv" } });
  if (imported.status !== 200) throw new Error(`import: ${imported.status} ${await imported.text()}`);
  console.log(`imported ${JSON.stringify(await imported.json())} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // entry 0.001..0.250, exit 0..0.099 (step 0.001), exit < entry: 5,050 + 150 x 100 = 20,050 pairs.
  const grid = { entry_start: 0.001, entry_stop: 0.25, entry_step: 0.001, exit_start: 0, exit_stop: 0.099, exit_step: 0.001, games: Array.from({ length: Math.min(20, games) }, (_, i) => `bench-${i}`) };
  t0 = performance.now();
  const { request_id: id } = await (await fetch(`${base}/api/grid-search/run`, { method: "POST", body: JSON.stringify(grid), headers: { "content-type": "application/json" } })).json();
  for (;;) {
    const p = await (await fetch(`${base}/api/grid-search/progress/${id}`)).json();
    if (p.status === "complete") break;
    if (p.status === "error" || p.status === "cancelled") throw new Error(`grid: ${JSON.stringify(p)}`);
    await Bun.sleep(100);
  }
  console.log(`grid search done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const bodies = [
    ["results JSON (GET /api/grid-search/results/{id})", `${base}/api/grid-search/results/${id}`],
    ["games export (GET /api/games/export.csv)", `${base}/api/games/export.csv`],
  ] as const;
  for (const [label, url] of bodies) {
    const plain = await onWire(url, "identity");
    if (label.startsWith("results")) console.log(`\n${label}: ${JSON.parse(plain.body!.toString()).pairs.length} pairs`);
    else console.log(`\n${label}: ${plain.body!.toString().split("\n").length - 2} ticks`);
    console.log(`  encoding   bytes on the wire   ratio   first byte ms   fetch ms (x plain)   CPU ms/MB   wall ms/MB (compressing, per MB read)`);
    console.log(`  identity   ${String(plain.bytes).padStart(17)}   1.000   ${plain.firstMs.toFixed(0).padStart(13)}   ${plain.ms.toFixed(0).padStart(8)} (1.00)`);
    for (const encoding of ["gzip", "br"] as const) {
      const got = await onWire(url, encoding);
      const cost = await cpuPerMb(plain.body!, encoding);
      if (Math.abs(cost.out - got.bytes) > got.bytes * 0.01) console.log(`  (note: the compressor alone gave ${cost.out} bytes)`);
      console.log(`  ${encoding.padEnd(8)}   ${String(got.bytes).padStart(17)}   ${(got.bytes / plain.bytes).toFixed(3)}   ${got.firstMs.toFixed(0).padStart(13)}   ${got.ms.toFixed(0).padStart(8)} (${(got.ms / plain.ms).toFixed(2)})   ${cost.cpuMsPerMb.toFixed(1).padStart(9)}   ${cost.wallMsPerMb.toFixed(1).padStart(10)}`);
    }
  }
} finally {
  await server.stop(2000);
  await database.close();
  rmSync(dataDir, { recursive: true, force: true });
  clearTimeout(dog);
}
