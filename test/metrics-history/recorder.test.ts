// The performance history's loop on an injected clock: a row per interval in the store with the
// interval's figures, pruning past the retention, and a store that is slow, down or failing
// costing rows (counted) but never blocking or breaking the loop.
import { expect, it } from "bun:test";
import { createHistoryRecorder } from "../../src/metrics-history/recorder";
import { readHistory } from "../../src/metrics-history/repository";
import { createAlerts } from "../../src/alerts";
import { storeUnavailable } from "../../src/errors";
import type { Database } from "../../src/db/database";
import { forEachDatabase } from "../support/db";
import { figuresRig } from "./fixtures";

const SECOND = 1000;

forEachDatabase("performance history", (db) => {
  it("writes one row per interval with the interval's rates, lag, jobs, workers, memory and CPU", async () => {
    const rig = figuresRig();
    let cpu = 0;
    const rec = createHistoryRecorder({
      clock: rig.clock, intervalMs: 10 * SECOND, retentionMs: 7 * 86_400_000, figures: rig.metrics.figures, database: db, logger: rig.logger,
      cpu: () => cpu,
    });
    rec.start();
    rig.transport.listen("ws|job:a");
    for (let i = 1; i <= 3; i++) {
      // 20 messages and 2.5 s of CPU in each 10 s interval
      for (let k = 0; k < 20; k++) rig.hub.emit("job:a", { k });
      cpu += 2_500_000;
      rig.injected.lag = { p99Ms: 10 * i, maxMs: 12 * i, windowMs: 10_000 };
      rig.clock.advance(10 * SECOND);
      await rec.settled();
      expect(rec.stats().written).toBe(i);
    }
    const rows = await readHistory(db(), 0, rig.clock.now(), 100);
    expect(rows.length).toBe(3);
    expect(rows.map((r) => r.at)).toEqual([1, 2, 3].map((i) => rig.clock.t - (3 - i) * 10 * SECOND));
    expect(rows[2]).toMatchObject({
      intervalMs: 10_000, connections: 0, messagesPerSecond: 2, drops: 0, dropsPerSecond: 0, eventLoopLagP99Ms: 30,
      jobs: { running: 1, queued: 2 }, busyWorkers: 1, rssBytes: 100 * 1024 ** 2, cpuPercent: 25, alerts: [],
    });
    expect(rows[2].bytesPerSecond).toBeGreaterThan(0);
    await rec.stop();
  });

  it("prunes rows older than the retention", async () => {
    const rig = figuresRig();
    const rec = createHistoryRecorder({ clock: rig.clock, intervalMs: 10 * SECOND, retentionMs: 60 * SECOND, figures: rig.metrics.figures, database: db, logger: rig.logger });
    rec.start();
    for (let i = 1; i <= 12; i++) {
      rig.clock.advance(10 * SECOND);
      await rec.settled();
      expect(rec.stats().written).toBe(i);
    }
    const rows = await readHistory(db(), 0, rig.clock.now(), 100);
    // the newest row pruned what was more than 60 s older than it: 7 rows from now - 60 s to now
    expect(rows.length).toBe(7);
    expect(rows[0].at).toBe(rig.clock.t - 60 * SECOND);
    expect(rec.stats().pruned).toBe(5);
    await rec.stop();
  });

  it("skips rows while the store is unavailable, or while the last write is still out, and writes again after", async () => {
    const rig = figuresRig();
    let down = true;
    const rec = createHistoryRecorder({
      clock: rig.clock, intervalMs: 10 * SECOND, retentionMs: 86_400_000, figures: rig.metrics.figures, logger: rig.logger,
      database: () => { if (down) throw storeUnavailable("the database is closed"); return db(); },
    });
    rec.start();
    rig.clock.advance(30 * SECOND);
    expect(rec.stats()).toMatchObject({ rows: 3, written: 0, skipped: 3, errors: 0 });
    down = false;
    // two rows due at once: the second finds the first still being written and skips the store
    rig.clock.advance(20 * SECOND);
    await rec.settled();
    expect(rec.stats().written).toBe(1);
    expect(rec.stats()).toMatchObject({ rows: 5, skipped: 4 });
    // the in-memory last hour has every row, written or not
    expect(rec.recent().length).toBe(5);
    expect((await readHistory(db(), 0, rig.clock.now(), 100)).length).toBe(1);
    await rec.stop();
  });

  it("counts a failing write, logs it once per failing spell, and keeps sampling", async () => {
    const rig = figuresRig();
    let failing = true;
    const broken = (): Database => ({ ...db(), db: { insert: () => ({ values: async () => { throw new Error("disk on fire"); } }) } as never });
    const rec = createHistoryRecorder({
      clock: rig.clock, intervalMs: 10 * SECOND, retentionMs: 86_400_000, figures: rig.metrics.figures, logger: rig.logger,
      database: () => (failing ? broken() : db()),
    });
    rec.start();
    for (let i = 1; i <= 3; i++) {
      rig.clock.advance(10 * SECOND);
      await rec.settled();
      expect(rec.stats().errors).toBe(i);
    }
    expect(rig.logger.lines.filter((l) => l.msg.startsWith("metrics history write failed")).length).toBe(1);
    failing = false;
    rig.clock.advance(10 * SECOND);
    await rec.settled();
    expect(rec.stats().written).toBe(1);
    expect(rig.logger.lines.some((l) => l.msg === "metrics history writes again")).toBe(true);
    await rec.stop();
  });

  it("stores the alerts active at each row", async () => {
    const rig = figuresRig();
    const alerts = createAlerts({
      thresholds: { eventLoopLagMs: 100, publishP99Ms: 0, dropsPerSecond: 0, storeLatencyMs: 0, rssBytes: 0 },
      clearAfterMs: 30 * SECOND, clock: rig.clock, logger: rig.logger,
    });
    const rec = createHistoryRecorder({ clock: rig.clock, intervalMs: 10 * SECOND, retentionMs: 86_400_000, figures: rig.metrics.figures, database: db, logger: rig.logger, alerts });
    rec.start();
    rig.injected.lag = { p99Ms: 250, maxMs: 300, windowMs: 10_000 };
    rig.clock.advance(10 * SECOND);
    await rec.settled();
    const [row] = await readHistory(db(), 0, rig.clock.now(), 10);
    expect(row.alerts).toMatchObject([{ name: "event_loop_lag", value: 250, threshold: 100, unit: "ms" }]);
    await rec.stop();
  });
});

it("does nothing at all with interval 0", () => {
  const rig = figuresRig();
  let reads = 0;
  const rec = createHistoryRecorder({
    clock: rig.clock, intervalMs: 0, retentionMs: 60_000, figures: () => (reads++, rig.metrics.figures()), logger: rig.logger,
    database: () => { throw new Error("never asked"); },
  });
  rec.start();
  rig.clock.advance(600_000);
  expect(reads).toBe(0);
  expect(rig.clock.timers.size).toBe(0);
});
