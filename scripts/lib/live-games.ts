// Generated live games for the live benchmarks: waves of games streamed side by side, the way a
// feed interleaves them, with prices and fair values that drift apart and back so deployed
// strategies open and close positions. Deterministic per seed; the same games also come out as
// an import CSV, so the ingest and the import are measured on the very same ticks.

export interface LiveTick {
  game_id: string;
  t: number;
  price: number;
  fair: number;
}

export interface GeneratedGame {
  id: string;
  ticks: LiveTick[];
  outcome: 0 | 1;
}

export interface StreamShape {
  /** Games streamed side by side (one wave). */
  gamesPerWave: number;
  ticksPerGame: number;
  /** Ticks per ingest request. */
  batchTicks: number;
}

/** A step of the stream: one request's ticks, and the games whose last tick it carried. */
export interface StreamStep {
  ticks: LiveTick[];
  ended: GeneratedGame[];
}

function random(seed: number) {
  let x = seed >>> 0 || 1;
  const uniform = () => {
    // xorshift32: fast, and the same sequence everywhere.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (x + 0.5) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, gauss };
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/**
 * One game: the price walks (sd 0.01 a tick), the model's edge (fair - price) is an AR(1) with
 * sd about 0.07, so edges past a few cents come and go every few ticks.
 */
export function generateGame(id: string, ticks: number, seed: number): GeneratedGame {
  const r = random(seed);
  let price = 0.15 + 0.7 * r.uniform();
  let edge = 0;
  const out: LiveTick[] = [];
  for (let k = 0; k < ticks; k++) {
    price = clamp(price + 0.01 * r.gauss(), 0.02, 0.98);
    edge = 0.85 * edge + 0.035 * r.gauss();
    const p = round4(price);
    out.push({ game_id: id, t: k + 1, price: p, fair: round4(clamp(p + edge, 0, 1)) });
  }
  const last = out[out.length - 1];
  return { id, ticks: out, outcome: r.uniform() < (last?.fair ?? 0.5) ? 1 : 0 };
}

/** Waves of games for `totalTicks` ticks (rounded up to whole requests), game ids `prefix` + wave + game. */
export function generateWaves(totalTicks: number, shape: StreamShape, prefix: string, seed = 1): GeneratedGame[][] {
  const waveTicks = shape.gamesPerWave * shape.ticksPerGame;
  const waves: GeneratedGame[][] = [];
  for (let w = 0; w * waveTicks < totalTicks; w++) {
    waves.push(Array.from({ length: shape.gamesPerWave }, (_, g) => generateGame(`${prefix}${w}-${g}`, shape.ticksPerGame, seed * 1_000_003 + w * 1009 + g)));
  }
  return waves;
}

/**
 * The waves as a feed sends them: within a wave, round-robin over its games, a few ticks each,
 * `batchTicks` to a request; a wave's games end together, then the next wave starts. Stops at
 * `totalTicks`.
 */
export function* streamSteps(waves: GeneratedGame[][], shape: StreamShape, totalTicks: number): Generator<StreamStep> {
  let sent = 0;
  for (const wave of waves) {
    let batch: LiveTick[] = [];
    for (let k = 0; k < shape.ticksPerGame; k++) {
      for (const g of wave) {
        batch.push(g.ticks[k]);
        if (batch.length === shape.batchTicks) {
          const last = k === shape.ticksPerGame - 1 && g === wave[wave.length - 1];
          yield { ticks: batch, ended: last ? wave : [] };
          sent += batch.length;
          batch = [];
          if (sent >= totalTicks) return;
        }
      }
    }
    if (batch.length > 0) {
      yield { ticks: batch, ended: wave };
      sent += batch.length;
      if (sent >= totalTicks) return;
    }
  }
}

/** The same games as an import CSV (gridcast's interchange format), in feed order. */
export function importCsv(waves: GeneratedGame[][], shape: StreamShape, totalTicks: number): string {
  const parts: string[] = ["game_id,t,price,fair,outcome\n"];
  const outcome = new Map<string, number>();
  for (const wave of waves) for (const g of wave) outcome.set(g.id, g.outcome);
  for (const step of streamSteps(waves, shape, totalTicks)) {
    let s = "";
    for (const t of step.ticks) s += `${t.game_id},${t.t},${t.price},${t.fair},${outcome.get(t.game_id)}\n`;
    parts.push(s);
  }
  return parts.join("");
}

/** `n` strategies of strategy.md with entries 0.02-0.12 and exits below them, all different. */
export function strategyParams(n: number): { name: string; entry: number; exit: number; fee: number }[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `bench-${i + 1}`,
    entry: round4(0.02 + (0.1 * i) / Math.max(1, n)),
    exit: round4((i % 5) * 0.004),
    fee: 0.001,
  }));
}
