// Seeded synthetic games so a new user sees gridcast work in a minute. The model: a hidden
// log-odds random walk decides the outcome; the model's `fair` sees it with a little noise, and
// the market `price` follows it three ticks late, in whole cents. Every id says "synthetic".

/** mulberry32: a small, fast, seedable PRNG; the same seed gives the same games everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  // Box-Muller; 1 - rand() keeps log() away from 0.
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const LAG = 3;

export interface DemoOptions {
  games: number;
  seed: number;
}

export const DEMO_LIMITS = { maxGames: 10_000 };

/** The demo data set as CSV (the interchange format), one game per chunk. */
export async function* demoCsv(options: DemoOptions): AsyncGenerator<Uint8Array> {
  const rand = seededRandom(options.seed);
  const encoder = new TextEncoder();
  yield encoder.encode("game_id,t,price,fair,outcome\n");
  const width = String(options.games).length;
  for (let g = 0; g < options.games; g++) {
    const id = `synthetic-${String(g + 1).padStart(Math.max(4, width), "0")}`;
    const n = 120 + Math.floor(rand() * 240);
    const x = new Float64Array(n);
    x[0] = gaussian(rand) * 0.8;
    for (let k = 1; k < n; k++) x[k] = x[k - 1] + gaussian(rand) * 0.15;
    const outcome = rand() < sigmoid(x[n - 1]) ? 1 : 0;
    const t0 = g * 1000;
    let out = "";
    for (let k = 0; k < n; k++) {
      const fair = Math.round(clamp01(sigmoid(x[k] + gaussian(rand) * 0.1)) * 1e4) / 1e4;
      const price = Math.round(clamp01(sigmoid(x[Math.max(0, k - LAG)]) + gaussian(rand) * 0.02) * 100) / 100;
      out += `${id},${t0 + k},${price},${fair},${outcome}\n`;
    }
    yield encoder.encode(out);
  }
}
