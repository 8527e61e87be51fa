import { describe, expect, test } from "bun:test";
import { defaultUnitSize } from "../../src/compute/pool.ts";
import { JUMP_MIN_TICKS } from "../../src/compute/kernel.ts";
import { JUMP_UNIT_SIZE } from "../../src/compute/run.ts";
import { ProgressBlock, addProgress, isCancelled, progressViews } from "../../src/compute/progress.ts";
import { splitBounds } from "../../src/compute/splits.ts";
import { buildStore, createStoreBuilder, storeViews } from "../../src/compute/store.ts";
import { GAME_BLOCK, GridFold, UnitPlan, gameBlocks, type UnitPartial } from "../../src/compute/units.ts";
import { makeGames } from "./fixtures.ts";

describe("GameStore", () => {
  test("packs games in order into shared buffers with offsets and outcomes", () => {
    const games = makeGames(5, 3);
    const store = buildStore(games, "v1");
    expect(store.games).toBe(5);
    expect(store.ids).toEqual(games.map((g) => g.id));
    expect(store.price.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(store.fair.buffer).toBeInstanceOf(SharedArrayBuffer);
    for (let g = 0; g < 5; g++) {
      const a = store.offsets[g];
      const b = store.offsets[g + 1];
      expect(b - a).toBe(games[g].price.length);
      expect(Array.from(store.price.subarray(a, b))).toEqual(Array.from(games[g].price));
      expect(Array.from(store.fair.subarray(a, b))).toEqual(Array.from(games[g].fair));
      expect(store.outcomes[g]).toBe(games[g].outcome);
    }
  });

  test("holds no more than 1.1x the raw bytes of its ticks", () => {
    const store = buildStore(makeGames(1000, 4, 20, 200), "v");
    const raw = store.ticks * 16;
    expect(store.byteLength).toBeLessThanOrEqual(raw * 1.1);
  });

  test("views rebuilt from shared() see the same memory", () => {
    const store = buildStore(makeGames(3, 5), "v");
    const v = storeViews(store.shared());
    expect(v.price.buffer).toBe(store.price.buffer);
    store.price[0] = 0.123;
    expect(v.price[0]).toBe(0.123);
    expect(Array.from(v.offsets)).toEqual(Array.from(store.offsets));
  });

  test("two builds with the same version get different worker cache keys", () => {
    const games = makeGames(2, 6);
    expect(buildStore(games, "same").shared().key).not.toBe(buildStore(games, "same").shared().key);
  });

  test("incremental builder streams ticks and rejects a wrong count", () => {
    const b = createStoreBuilder("v", 2, 3);
    b.beginGame("a", 1);
    b.tick(0.5, 0.6);
    b.tick(0.4, 0.6);
    b.beginGame("b", 0);
    b.tick(0.3, 0.2);
    const s = b.finish();
    expect(Array.from(s.offsets)).toEqual([0, 2, 3]);
    expect(Array.from(s.outcomes)).toEqual([1, 0]);
    const short = createStoreBuilder("v", 1, 2);
    short.beginGame("a", 0);
    short.tick(0.5, 0.5);
    expect(() => short.finish()).toThrow("1/2 ticks");
    expect(() => createStoreBuilder("v", 1, 1).tick(0.1, 0.1)).toThrow();
  });
});

describe("units", () => {
  test("game blocks have the fixed size and never cross a split boundary", () => {
    const splits = splitBounds(1000);
    const blocks = gameBlocks(splits);
    const edges = new Set([600, 800]);
    for (const b of blocks) {
      expect(b.to - b.from).toBeLessThanOrEqual(GAME_BLOCK);
      for (const e of edges) expect(b.from < e && b.to > e).toBe(false);
    }
    expect(blocks[0]).toEqual({ from: 0, to: GAME_BLOCK, split: 0 });
    expect(blocks.map((b) => b.to - b.from).reduce((a, b) => a + b, 0)).toBe(1000);
  });

  test("a plan walks one pair block's game blocks before the next", () => {
    const plan = new UnitPlan(10, 4, splitBounds(200));
    expect(plan.pairBlocks).toBe(3);
    const nb = plan.blocks.length;
    expect(plan.unit(0)).toMatchObject({ pairFrom: 0, pairTo: 4, gameFrom: 0 });
    expect(plan.unit(1)).toMatchObject({ pairFrom: 0, pairTo: 4, gameFrom: 64 });
    expect(plan.unit(nb)).toMatchObject({ pairFrom: 4, pairTo: 8, gameFrom: 0 });
    expect(plan.unit(plan.units - 1)).toMatchObject({ pairFrom: 8, pairTo: 10, gameTo: 200 });
  });

  test("the fold gives the same bits whatever order partials arrive in", () => {
    const plan = new UnitPlan(3, 3, splitBounds(400));
    const parts: UnitPartial[] = [];
    let x = 0.1;
    for (let i = 0; i < plan.units; i++) {
      const u = plan.unit(i);
      const a = () => Float64Array.from([(x = (x * 7.3) % 1.9) - 0.9, x / 3, 1e-17 + x]);
      parts.push({ unit: i, pairFrom: u.pairFrom, pairTo: u.pairTo, gameFrom: u.gameFrom, gameTo: u.gameTo, pnl: a(), trades: a(), wins: a() });
    }
    const inOrder = new GridFold(plan);
    for (const p of parts) inOrder.add(p);
    const done: number[] = [];
    const reversed = new GridFold(plan, (last) => done.push(last));
    for (const p of [...parts].reverse()) reversed.add(p);
    expect(reversed.complete).toBe(true);
    expect(reversed.pendingCount).toBe(0);
    expect(done).toEqual([2]);
    for (const s of ["train", "valid", "test"] as const) {
      expect(Buffer.from(reversed.totals[s].pnl.buffer).equals(Buffer.from(inOrder.totals[s].pnl.buffer))).toBe(true);
    }
    expect(reversed.add(parts[0])).toBe(false); // a duplicate is ignored
  });
});

describe("defaultUnitSize", () => {
  test("aims at ~2M pair-ticks per unit on games too short to jump, as a power of two within [8, 1024]", () => {
    expect(defaultUnitSize({ games: 8000, ticks: 8000 * 40 })).toBe(1024);
    expect(defaultUnitSize({ games: 100, ticks: 100 * (JUMP_MIN_TICKS - 1) })).toBe(512);
    expect(defaultUnitSize({ games: 100, ticks: 100 * 20 })).toBe(1024);
    expect(defaultUnitSize({ games: 0, ticks: 0 })).toBe(1024);
  });

  test("gives games long enough for the kernel to jump JUMP_UNIT_SIZE pairs, however long", () => {
    expect(defaultUnitSize({ games: 8000, ticks: 8000 * 130 })).toBe(JUMP_UNIT_SIZE);
    expect(defaultUnitSize({ games: 100, ticks: 100 * 2000 })).toBe(JUMP_UNIT_SIZE);
    expect(defaultUnitSize({ games: 10, ticks: 10 * 1_000_000 })).toBe(JUMP_UNIT_SIZE);
  });
});

describe("ProgressBlock", () => {
  test("counts past 2^31 and snapshots plainly", () => {
    const entries = Float64Array.from([0.05, 0.1]);
    const exits = Float64Array.from([0.01, 0]);
    const pb = new ProgressBlock(1e6 * 1e4, entries, exits);
    expect(pb.snapshot()).toEqual({ current: 0, total: 1e10, current_combo: "" });
    const v = progressViews(pb.buffer);
    addProgress(v, 2 ** 31);
    addProgress(v, 2 ** 31);
    pb.setLastPair(0);
    expect(pb.snapshot()).toEqual({ current: 2 ** 32, total: 1e10, current_combo: "entry=0.050, exit=0.010" });

    expect(pb.countedAt).toBeUndefined(); // counted without a time: no worker said when
    addProgress(v, 1, 1_700_000_000_123.25);
    addProgress(v, 1, 1_700_000_000_100); // a slower worker's older count: the newest time stays
    expect(pb.countedAt).toBe(1_700_000_000_123.25);
    expect(pb.current).toBe(2 ** 32 + 2);
    expect(isCancelled(v)).toBe(false);
    pb.requestStop();
    expect(isCancelled(v)).toBe(true);
  });
});
