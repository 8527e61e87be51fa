import { afterAll, describe, expect, test } from "bun:test";
import { createPool, type ComputeJob, type GridResult, type JobOutcome } from "../../src/compute/pool.ts";
import type { ProgressCounts } from "../../src/compute/progress.ts";
import { splitBounds } from "../../src/compute/splits.ts";
import { SPLIT_NAMES, UnitPlan, type UnitPartial } from "../../src/compute/units.ts";
import { eventually } from "../support/eventually.ts";
import { makePairs, makeStore, sameBits } from "./fixtures.ts";

const progress = new Map<string, ProgressCounts[]>();
const pool = createPool({ size: 2, batchUnits: 5 });
afterAll(() => pool.close());

/** Submits with a listener recording the job's progress, and `onUnits` if given. */
function submit(job: ComputeJob, onUnits?: (batch: UnitPartial[]) => void | Promise<void>) {
  return pool.submit(job, { onUnits, onProgress: (s) => progress.set(job.id, [...(progress.get(job.id) ?? []), s]) });
}

const store = makeStore(600, 21);
const { entries, exits } = makePairs(16, 16);
const fee = 0.001;

function grid(o: JobOutcome): GridResult {
  if (o.status !== "complete" || o.result.kind !== "grid") throw new Error(`not complete: ${JSON.stringify(o)}`);
  return o.result;
}
function expectSameTotals(a: GridResult, b: GridResult) {
  for (const s of SPLIT_NAMES) {
    expect(sameBits(a.splits[s].pnl, b.splits[s].pnl)).toBe(true);
    expect(sameBits(a.splits[s].trades, b.splits[s].trades)).toBe(true);
    expect(sameBits(a.splits[s].wins, b.splits[s].wins)).toBe(true);
  }
}
/** What a database row round trip does to a partial: plain numbers and fresh byte copies. */
function stored(p: UnitPartial): UnitPartial {
  const copy = (a: Float64Array) => new Float64Array(new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice().buffer);
  return { ...p, pnl: copy(p.pnl), trades: copy(p.trades), wins: copy(p.wins) };
}

describe("resume", () => {
  test("a job resumed from half of its stored batches ends with the uninterrupted results", async () => {
    const batches: UnitPartial[][] = [];
    const full = submit({ id: "full", kind: "grid", store, entries, exits, fee, unitSize: 16 }, (b) => void batches.push(b));
    const uninterrupted = grid(await full.result);
    const all = batches.flat();
    expect(new Set(all.map((p) => p.unit)).size).toBe(all.length); // each unit reported once
    const total = entries.length * store.games;

    const kept = batches.slice(0, Math.floor(batches.length / 2)).flat().map(stored);
    const keptWeight = kept.reduce((s, p) => s + (p.pairTo - p.pairFrom) * (p.gameTo - p.gameFrom), 0);
    const again: UnitPartial[] = [];
    const resumed = submit({ id: "resumed", kind: "grid", store, entries, exits, fee, unitSize: 16, done: kept },
      (b) => void again.push(...b));
    expect(progress.get("resumed")![0]).toMatchObject({ current: keptWeight, total });
    expectSameTotals(grid(await resumed.result), uninterrupted);
    // Only the missing units were computed and handed over for storage.
    expect(again.length + kept.length).toBe(all.length);
    expect(again.some((p) => kept.some((k) => k.unit === p.unit))).toBe(false);
    expect(resumed.snapshot()).toMatchObject({ current: total, total });
  }, 30_000);

  test("an interrupted run's stored units finish the job exactly like an uninterrupted one", async () => {
    const reference = grid(await submit({ id: "ref", kind: "grid", store, entries, exits, fee, unitSize: 64 }).result);
    const saved: UnitPartial[] = [];
    const first = submit({ id: "cut", kind: "grid", store, entries, exits, fee, unitSize: 16 }, (b) => void saved.push(...b.map(stored)));
    await eventually(() => saved.length > 0 && first.snapshot().current >= first.snapshot().total / 3, { intervalMs: 1, what: "a third of the job stored" });
    first.cancel(); // stands in for kill -9: only what reached onUnits survives
    expect((await first.result).status).toBe("cancelled");
    expect(saved.length).toBeGreaterThan(0);
    const second = submit({ id: "cut", kind: "grid", store, entries, exits, fee, unitSize: 16, done: saved });
    expectSameTotals(grid(await second.result), reference);
  }, 30_000);

  test("partials cut with another unit size are computed again, not folded", async () => {
    const batches: UnitPartial[] = [];
    const small = submit({ id: "u8", kind: "grid", store, entries, exits, fee, unitSize: 8 }, (b) => void batches.push(...b));
    const expected = grid(await small.result);
    const other = submit({ id: "u32", kind: "grid", store, entries, exits, fee, unitSize: 32, done: batches.slice(0, 10) });
    expect(progress.get("u32")![0].current).toBe(0); // nothing counted as resumed
    expectSameTotals(grid(await other.result), expected);
  }, 30_000);

  test("a simulation resumes from stored game blocks", async () => {
    const one = { entries: Float64Array.of(0.04), exits: Float64Array.of(0.02) };
    const parts: UnitPartial[] = [];
    const a = await submit({ id: "s1", kind: "simulation", store, ...one, fee }, (b) => void parts.push(...b)).result;
    const b = await submit({ id: "s2", kind: "simulation", store, ...one, fee, done: parts.slice(0, 4).map(stored) }).result;
    if (a.status !== "complete" || b.status !== "complete" || a.result.kind !== "simulation" || b.result.kind !== "simulation") throw new Error("not complete");
    expect(sameBits(a.result.equity, b.result.equity)).toBe(true);
    expect(progress.get("s2")![0].current).toBe(parts.slice(0, 4).reduce((s, p) => s + p.gameTo - p.gameFrom, 0));
  });
});

describe("storing units", () => {
  test("a failing onUnits fails the job with its message", async () => {
    const h = submit({ id: "nostore", kind: "grid", store, entries, exits, fee, unitSize: 16 },
      async () => { throw new Error("disk full"); });
    expect(await h.result).toEqual({ status: "error", message: "storing results failed: disk full" });
  });

  test("the job completes only after its last batch is stored", async () => {
    let stored = 0;
    const h = submit({ id: "slowstore", kind: "grid", store, entries, exits, fee, unitSize: 64 },
      async (b) => {
        await Promise.resolve(); // storage that answers later than the unit arrives
        await new Promise((r) => setImmediate(r));
        stored += b.length;
      });
    expect((await h.result).status).toBe("complete");
    expect(stored).toBe(new UnitPlan(entries.length, 64, splitBounds(store.games)).units);
  });

  test("close() hands pending batches to onUnits before it returns", async () => {
    const own = createPool({ size: 1, batchUnits: 1000, batchMs: 60_000 });
    const got: UnitPartial[] = [];
    const h = own.submit({ id: "closing", kind: "grid", store, entries, exits, fee, unitSize: 8 }, { onUnits: (b) => void got.push(...b) });
    // A finished unit waits in the pending batch (60 s away): close() must hand it over.
    await eventually(() => own.stats().unitsDone > 0, { intervalMs: 1, what: "a finished unit" });
    await own.close();
    expect(got.length).toBeGreaterThan(0);
    expect(await h.result).toEqual({ status: "error", message: "pool closed" });
  });
});
