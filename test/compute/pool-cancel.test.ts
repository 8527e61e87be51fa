import { afterAll, describe, expect, test } from "bun:test";
import { createPool, type JobHandle, type Pool } from "../../src/compute/pool.ts";
import { eventually } from "../support/eventually.ts";
import { makePairs, makeStore } from "./fixtures.ts";

const pool: Pool = createPool({ size: 2 });
afterAll(() => pool.close());

const { entries, exits } = makePairs(40, 40); // ~1,400 pairs

/** Progress counts whole games, so on huge games wait for the hand-out (a busy worker) instead. */
async function untilStarted(h: JobHandle, counted = true): Promise<void> {
  await eventually(() => (counted ? h.snapshot().current > 0 : pool.stats().busy > 0), { intervalMs: 1, what: "the job on a worker" });
}

/** Cancel and wait for the job to settle; it only settles once every worker on it has reported
 *  back, so the pool must hold no unit at that moment. How fast that is: scripts/bench-cancel.ts. */
async function cancelled(h: JobHandle): Promise<{ busyAfter: number; status: string }> {
  h.cancel();
  const outcome = await h.result;
  return { busyAfter: pool.stats().busy, status: outcome.status };
}

describe("cancel", () => {
  test("stops every worker on a long job long before its end, and the pool then runs another job", async () => {
    const store = makeStore(3000, 31, 100, 400); // ~ 1e9 pair-ticks: seconds of work
    const h = pool.submit({ id: "long", kind: "grid", store, entries, exits, fee: 0 });
    await untilStarted(h);
    const t = await cancelled(h);
    expect(t.status).toBe("cancelled");
    expect(t.busyAfter).toBe(0);
    // Seconds of work: a cancel that waited for the units to end would have counted far more.
    expect(h.snapshot().current).toBeLessThan(h.snapshot().total / 4);

    const small = makeStore(200, 32);
    const next = await pool.submit({ id: "after", kind: "grid", store: small, entries: entries.subarray(0, 50), exits: exits.subarray(0, 50), fee: 0 }).result;
    expect(next.status).toBe("complete");
  }, 30_000);

  test("stops inside a unit whose games are huge", async () => {
    // 4 games of 200k ticks: one game x 256 pairs is ~50M pair-ticks, far more than 50 ms.
    const store = makeStore(4, 33, 200_000, 200_000);
    const h = pool.submit({ id: "huge", kind: "grid", store, entries: entries.subarray(0, 256), exits: exits.subarray(0, 256), fee: 0, unitSize: 256 });
    await untilStarted(h, false);
    const t = await cancelled(h);
    expect(t.status).toBe("cancelled");
    expect(t.busyAfter).toBe(0);
    // Stopped inside the unit: not one of its 200k-tick games was counted whole.
    expect(h.snapshot().current).toBeLessThan(256);
  }, 30_000);

  test("cancelling one job leaves a concurrent job running to completion", async () => {
    const store = makeStore(1500, 34, 100, 300);
    const a = pool.submit({ id: "a", kind: "grid", store, entries, exits, fee: 0 });
    const b = pool.submit({ id: "b", kind: "grid", store, entries: entries.subarray(0, 100), exits: exits.subarray(0, 100), fee: 0 });
    await untilStarted(a);
    a.cancel();
    expect((await a.result).status).toBe("cancelled");
    const rb = await b.result;
    expect(rb.status).toBe("complete");
    expect(b.snapshot()).toMatchObject({ current: 100 * 1500 });
  }, 30_000);

  test("cancel of a finished job changes nothing", async () => {
    const store = makeStore(50, 35);
    const h = pool.submit({ id: "quick", kind: "grid", store, entries: entries.subarray(0, 5), exits: exits.subarray(0, 5), fee: 0 });
    expect((await h.result).status).toBe("complete");
    const before = h.snapshot();
    h.cancel();
    expect(await h.result).toMatchObject({ status: "complete" });
    expect(h.snapshot()).toEqual(before);
  });
});
