import { afterEach, describe, expect, test } from "bun:test";
import { createPool, type JobOutcome, type Pool } from "../../src/compute/pool.ts";
import { SPLIT_NAMES } from "../../src/compute/units.ts";
import { eventually } from "../support/eventually.ts";
import { makePairs, makeStore, sameBits } from "./fixtures.ts";

const CRASH_WORKER = new URL("./crash-worker.ts", import.meta.url);

let pool: Pool | null = null;
afterEach(async () => {
  await pool?.close();
  pool = null;
});

const store = makeStore(800, 41, 50, 200);
const { entries, exits } = makePairs(20, 20);
const healthy = { kind: "grid" as const, store, entries, exits, fee: 0.001, unitSize: 16 };

async function reference(): Promise<JobOutcome> {
  const p = createPool({ size: 1 });
  try {
    return await p.submit({ id: "reference", ...healthy }).result;
  } finally {
    await p.close();
  }
}

function expectSame(a: JobOutcome, b: JobOutcome) {
  if (a.status !== "complete" || b.status !== "complete" || a.result.kind !== "grid" || b.result.kind !== "grid") {
    throw new Error(`expected two complete grids: ${a.status}, ${b.status}`);
  }
  for (const s of SPLIT_NAMES) expect(sameBits(a.result.splits[s].pnl, b.result.splits[s].pnl)).toBe(true);
}

describe("a failing worker", () => {
  for (const mode of ["exit", "uncaught"] as const) {
    test(`that dies (${mode}) fails only its job; the pool replaces it and finishes the other job`, async () => {
      const expected = await reference();
      const p = (pool = createPool({ size: 2, workerUrl: CRASH_WORKER }));
      const other = p.submit({ id: "other", ...healthy });
      const victim = p.submit({ id: `crash-${mode}-3`, ...healthy });
      const v = await victim.result;
      expect(v.status).toBe("error");
      if (v.status === "error") expect(v.message).toMatch(mode === "exit" ? /worker exited/ : /test-only crash \(uncaught\)/);
      expectSame(await other.result, expected);
      // The replacement is spawned on the next turn of the event loop, then serves later jobs.
      await eventually(() => p.stats().restarts >= 1, { what: "the dead worker's replacement" });
      expect(p.stats().restarts).toBe(1);
      expectSame(await p.submit({ id: "later", ...healthy }).result, expected);
      expect(p.stats().size).toBe(2);
    }, 30_000);
  }

  test("an exception inside a unit is reported as the job's error; the worker keeps serving", async () => {
    const expected = await reference();
    const p = (pool = createPool({ size: 2, workerUrl: CRASH_WORKER }));
    const other = p.submit({ id: "other", ...healthy });
    const victim = p.submit({ id: "crash-throw-0", ...healthy });
    const v = await victim.result;
    expect(v).toEqual({ status: "error", message: "unit 0 failed: test-only crash (throw)" });
    expectSame(await other.result, expected);
    expect(p.stats().restarts).toBe(0);
  }, 30_000);

  test("a pool whose workers cannot start fails the job instead of hanging", async () => {
    const p = (pool = createPool({ size: 1, workerUrl: new URL("./no-such-worker.ts", import.meta.url) }));
    const h = p.submit({ id: "doomed", ...healthy });
    const o = await h.result;
    expect(o.status).toBe("error");
    if (o.status === "error") expect(o.message).toMatch(/worker/);
  }, 10_000);
});
