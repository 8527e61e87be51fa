// How fast a cancel stops a job's workers: the time from cancel() to the job settling (every
// worker back, none holding a unit), on ordinary games and inside a unit of huge games. The pool
// tests check that a cancel stops the job; this prints how fast, which a shared machine cannot
// promise inside a test. Usage: bun scripts/bench-cancel.ts [rounds]
import { createPool } from "../src/compute/pool.ts";
import { makePairs, makeStore } from "../test/compute/fixtures.ts";

const rounds = Math.max(1, Math.min(50, Number(process.argv[2] ?? 10)));
const { entries, exits } = makePairs(40, 40);
const cases = [
  { label: "3,000 games of 100-400 ticks, 1,400 pairs", store: makeStore(3000, 31, 100, 400), pairs: entries.length, unitSize: undefined },
  { label: "4 games of 200,000 ticks, 256-pair units", store: makeStore(4, 33, 200_000, 200_000), pairs: 256, unitSize: 256 },
];

const pool = createPool({ size: 2 });
await Bun.sleep(100); // workers loaded, as in a server that started earlier
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
for (const c of cases) {
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const h = pool.submit({ id: `c${r}`, kind: "grid", store: c.store, entries: entries.subarray(0, c.pairs), exits: exits.subarray(0, c.pairs), fee: 0, unitSize: c.unitSize });
    const deadline = performance.now() + 10_000;
    while (pool.stats().busy < 2 && performance.now() < deadline) await Bun.sleep(1);
    await Bun.sleep(30); // well inside the units
    const t0 = performance.now();
    h.cancel();
    await h.result;
    ms.push(performance.now() - t0);
  }
  console.log(`${c.label}: cancel settles in p50 ${pct(ms, 0.5).toFixed(2)} ms, max ${Math.max(...ms).toFixed(2)} ms over ${rounds} rounds`);
}
await pool.close();
