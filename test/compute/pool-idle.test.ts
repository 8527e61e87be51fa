// Idle workers are stopped (their heaps and store views go with them) and the next job starts
// them again: same results to the bit, and no death counted.
import { afterEach, describe, expect, test } from "bun:test";
import { createPool, type GridResult, type JobOutcome, type Pool } from "../../src/compute/pool.ts";
import { SPLIT_NAMES } from "../../src/compute/units.ts";
import { eventually } from "../support/eventually.ts";
import { makePairs, makeStore, sameBits } from "./fixtures.ts";

let pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.map((p) => p.close()));
  pools = [];
});
function grid(o: JobOutcome): GridResult {
  if (o.status !== "complete" || o.result.kind !== "grid") throw new Error(`not a grid result: ${JSON.stringify(o)}`);
  return o.result;
}
function expectSameBits(a: GridResult, b: GridResult): void {
  for (const s of SPLIT_NAMES) {
    expect(sameBits(a.splits[s].pnl, b.splits[s].pnl)).toBe(true);
    expect(sameBits(a.splits[s].trades, b.splits[s].trades)).toBe(true);
    expect(sameBits(a.splits[s].wins, b.splits[s].wins)).toBe(true);
  }
}

const store = makeStore(300, 5);
const { entries, exits } = makePairs(12, 12);
const job = (id: string) => ({ id, kind: "grid" as const, store, entries, exits, fee: 0.001, unitSize: 16 });

describe("a pool whose idle workers are parked", () => {
  test("runs the next job bit-identically on restarted workers, counting no restart", async () => {
    const p = createPool({ size: 2 });
    pools.push(p);
    const before = grid(await p.submit(job("before")).result);
    expect(p.park()).toBe(2);
    expect(p.stats()).toMatchObject({ size: 2, alive: 2, parked: 2, busy: 0, restarts: 0 });
    const after = grid(await p.submit(job("after")).result);
    expectSameBits(after, before);
    expect(p.stats()).toMatchObject({ alive: 2, parked: 0, restarts: 0 });
  }, 30_000);

  test("does not park while a job runs", async () => {
    const p = createPool({ size: 1 });
    pools.push(p);
    const h = p.submit(job("running"));
    expect(p.park()).toBe(0);
    grid(await h.result);
  }, 30_000);

  test("parks by itself once idle for idleMs, says so, and a later job still runs", async () => {
    let idle = 0;
    const p = createPool({ size: 2, idleMs: 20, onIdle: () => idle++ });
    pools.push(p);
    const before = grid(await p.submit(job("first")).result);
    await eventually(() => p.stats().parked === 2, { what: "the idle workers to be parked" });
    expect(idle).toBeGreaterThanOrEqual(1);
    expectSameBits(grid(await p.submit(job("second")).result), before);
    expect(p.stats().restarts).toBe(0);
  }, 30_000);
});
