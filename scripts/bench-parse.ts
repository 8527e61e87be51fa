// Parse-only throughput of src/games/parse.ts: ~1M generated ticks fed as 64 KiB chunks, CSV and NDJSON.
// Usage: bun scripts/bench-parse.ts [ticks]. Generation happens before the clock starts.
import { heapStats } from "bun:jsc";
import { parseGames, type GameFormat } from "../src/games/parse.ts";

const TICKS = Number(process.argv[2] ?? 1_000_000);
const GAMES = 1_000;
const CHUNK = 64 * 1024;

/** Builds the file text with a cheap deterministic generator (no Math.random: runs stay comparable). */
function generate(format: GameFormat): Uint8Array {
  const parts: string[] = format === "csv" ? ["game_id,t,price,fair,outcome\n"] : [];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < TICKS; i++) {
    const game = i % GAMES; // interleaved games, as a recorder writing several at once would
    const id = `game-${game}`;
    const t = Math.floor(i / GAMES);
    const price = next().toFixed(4);
    const fair = next().toFixed(4);
    const outcome = game % 2;
    parts.push(
      format === "csv"
        ? `${id},${t},${price},${fair},${outcome}\n`
        : `{"game_id":"${id}","t":${t},"price":${price},"fair":${fair},"outcome":${outcome}}\n`,
    );
  }
  return new TextEncoder().encode(parts.join(""));
}

async function* chunksOf(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, i + CHUNK);
}

let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

const mib = (n: number) => (n / 2 ** 20).toFixed(0);
for (const format of ["csv", "ndjson"] as const) {
  const bytes = generate(format);
  Bun.gc(true);
  peakRss = 0;
  sampleRss();
  const before = peakRss;
  // Best of three: the first run also pays for JIT warm-up, and the machine may be shared.
  let best = Infinity;
  let rows = 0;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    let batches = 0;
    rows = 0;
    for await (const batch of parseGames(chunksOf(bytes), { format })) {
      rows += batch.length;
      if (++batches % 10 === 0) sampleRss();
    }
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  sampleRss();
  // RSS peaks on garbage the collector hasn't returned yet; the heap after a full GC shows what is kept.
  Bun.gc(true);
  const heap = heapStats().heapSize;
  console.log(
    `${format.padEnd(6)} ${rows} ticks, ${mib(bytes.length)} MiB in ${best.toFixed(2)} s (best of 3): ` +
      `${Math.round(rows / best).toLocaleString("en")} ticks/s, ${(bytes.length / 2 ** 20 / best).toFixed(0)} MiB/s; ` +
      `RSS ${mib(before)} MiB before (input held in memory), peak ${mib(peakRss)} MiB; heap after GC ${mib(heap)} MiB`,
  );
}
console.log(`process max RSS ${mib(process.resourceUsage().maxRSS * 1024)} MiB`);
