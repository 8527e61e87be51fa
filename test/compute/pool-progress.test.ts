import { afterAll, describe, expect, test } from "bun:test";
import { formatCombo } from "../../src/compute/grid.ts";
import { createPool, type ComputeJob } from "../../src/compute/pool.ts";
import type { ProgressCounts } from "../../src/compute/progress.ts";
import { eventually } from "../support/eventually.ts";
import { makePairs, makeStore } from "./fixtures.ts";

const seen = new Map<string, ProgressCounts[]>();
const countedAt = new Map<string, (number | undefined)[]>();
let calls = 0;
const pool = createPool({ size: 2 });
afterAll(() => pool.close());

/** Submits with a listener that records every progress event of the job. */
function submit(job: ComputeJob) {
  return pool.submit(job, {
    onProgress: (s, at) => {
      calls++;
      seen.set(job.id, [...(seen.get(job.id) ?? []), s]);
      countedAt.set(job.id, [...(countedAt.get(job.id) ?? []), at]);
    },
  });
}

const { entries, exits } = makePairs(40, 40);
const store = makeStore(1200, 51, 100, 300);

describe("progress", () => {
  test("counts pair x game units up to pairs x games, naming the last finished pair", async () => {
    const few = { entries: entries.subarray(0, 300), exits: exits.subarray(0, 300) };
    // Small units, so several pair blocks finish while the job runs.
    const h = submit({ id: "g", kind: "grid", store, ...few, fee: 0, unitSize: 32 });
    const total = 300 * store.games;
    expect(seen.get("g")![0]).toEqual({ current: 0, total, current_combo: "" });
    expect(await h.result).toMatchObject({ status: "complete" });
    const snaps = seen.get("g")!;
    for (let i = 1; i < snaps.length; i++) expect(snaps[i].current).toBeGreaterThanOrEqual(snaps[i - 1].current);
    expect(snaps.some((s) => s.current > 0 && s.current < total)).toBe(true);
    expect(snaps.some((s) => s.current < total && s.current_combo !== "")).toBe(true);
    // current_combo names a pair of the grid and never steps back in grid order.
    const order = new Map(Array.from(few.entries, (e, i) => [formatCombo(e, few.exits[i]), i]));
    let at = -1;
    for (const s of snaps) {
      if (!s.current_combo) continue;
      expect(order.has(s.current_combo)).toBe(true);
      expect(order.get(s.current_combo)!).toBeGreaterThanOrEqual(at);
      at = order.get(s.current_combo)!;
    }
    const last = snaps[snaps.length - 1];
    expect(last).toEqual({ current: total, total, current_combo: formatCombo(few.entries[299], few.exits[299]) });
    expect(h.snapshot()).toEqual(last);
  }, 30_000);

  test("each snapshot comes with the unix time a worker counted its newest progress", async () => {
    const before = performance.timeOrigin + performance.now();
    const h = submit({ id: "t", kind: "grid", store, entries: entries.subarray(0, 600), exits: exits.subarray(0, 600), fee: 0, unitSize: 32 });
    await h.result;
    const after = performance.timeOrigin + performance.now();
    const snaps = seen.get("t")!;
    const times = countedAt.get("t")!;
    expect(times[0]).toBeUndefined(); // queued: no worker has counted anything yet
    let last = -Infinity;
    for (let i = 0; i < snaps.length; i++) {
      if (snaps[i].current === 0) continue;
      const t = times[i]!;
      expect(t).toBeGreaterThanOrEqual(before); // a worker's clock, comparable with this thread's
      expect(t).toBeLessThanOrEqual(after);
      expect(t).toBeGreaterThanOrEqual(last); // the newest count: never steps back
      last = t;
    }
    expect(snaps.filter((x) => x.current > 0).length).toBeGreaterThan(1);
  }, 30_000);

  test("a simulation counts games", async () => {
    const h = submit({ id: "s", kind: "simulation", store, entries: Float64Array.of(0.05), exits: Float64Array.of(0.01), fee: 0 });
    await h.result;
    expect(await h.result).toMatchObject({ status: "complete" });
    expect(h.snapshot()).toEqual({ current: store.games, total: store.games, current_combo: "entry=0.050, exit=0.010" });
  });

  test("the main thread is woken by workers while they run, and never while the pool is idle", async () => {
    await Bun.sleep(50);
    const idleBefore = pool.stats().wakeups;
    const callsBefore = calls;
    await Bun.sleep(200);
    expect(pool.stats().wakeups).toBe(idleBefore);
    expect(calls).toBe(callsBefore);

    await submit({ id: "w", kind: "grid", store, entries: entries.subarray(0, 600), exits: exits.subarray(0, 600), fee: 0 }).result;
    const afterRun = pool.stats().wakeups;
    expect(afterRun).toBeGreaterThan(idleBefore);
    await Bun.sleep(200);
    expect(pool.stats().wakeups).toBe(afterRun);
    expect(pool.stats().busy).toBe(0);
  }, 30_000);

  test("the main thread is woken at most once per 20 ms, however many workers report", async () => {
    const before = pool.stats().wakeups;
    const t0 = performance.now();
    const h = submit({ id: "paced", kind: "grid", store, entries, exits, fee: 0, unitSize: 32 });
    expect(await h.result).toMatchObject({ status: "complete" });
    const ms = performance.now() - t0;
    const wakes = pool.stats().wakeups - before;
    expect(wakes).toBeGreaterThan(1); // progress still arrives while it runs
    expect(wakes).toBeLessThanOrEqual(Math.ceil(ms / 20) + 1);
    expect(seen.get("paced")!.at(-1)!.current).toBe(entries.length * store.games);
  }, 30_000);

  test("a run nobody listens to (a helper's, on another node's job) never wakes the main thread", async () => {
    const before = pool.stats().wakeups;
    const h = pool.submit({ id: "unheard", kind: "grid", store, entries: entries.subarray(0, 600), exits: exits.subarray(0, 600), fee: 0, unitSize: 32 });
    expect(await h.result).toMatchObject({ status: "complete" });
    expect(pool.stats().wakeups).toBe(before);
    expect(h.snapshot().current).toBe(600 * store.games); // its progress is still counted, for whoever asks
  }, 30_000);
});

describe("fair sharing", () => {
  test("two concurrent jobs both make progress", async () => {
    const a = submit({ id: "fa", kind: "grid", store, entries, exits, fee: 0 });
    const b = submit({ id: "fb", kind: "grid", store, entries, exits, fee: 0, unitSize: 32 });
    await eventually(() => a.snapshot().current >= a.snapshot().total / 4, { intervalMs: 2, what: "a quarter of job a" });
    const fa = a.snapshot().current / a.snapshot().total;
    const fb = b.snapshot().current / b.snapshot().total;
    // Shared by work: a job cut into 8x smaller units still gets about half of the pool.
    expect(fb).toBeGreaterThan(fa / 1.5);
    expect(fb).toBeLessThan(fa * 1.5);
    b.cancel();
    a.cancel();
    await Promise.all([a.result, b.result]);
  }, 30_000);

  test("a small job submitted behind a big one finishes long before it", async () => {
    const big = submit({ id: "big", kind: "grid", store, entries, exits, fee: 0 });
    await eventually(() => big.snapshot().current > 0, { intervalMs: 1, what: "the big job's first count" });
    const small = submit({ id: "small", kind: "grid", store, entries: entries.subarray(0, 40), exits: exits.subarray(0, 40), fee: 0 });
    expect((await small.result).status).toBe("complete");
    const bigShare = big.snapshot().current / big.snapshot().total;
    expect(bigShare).toBeLessThan(0.5);
    big.cancel();
    await big.result;
    expect(pool.stats()).toMatchObject({ busy: 0, jobs: 0 });
  }, 30_000);
});
