// Alerts raise on the first reading over a threshold and clear only after readings have stayed
// under it for the clear time: driven by a FakeClock and injected figures, never by sleeping.
import { expect, it } from "bun:test";
import { createAlerts, type AlertFigures, type AlertsState, type Thresholds } from "../../src/alerts";
import { FakeClock, MemoryLogger } from "../realtime/fakes";

const OFF: Thresholds = { eventLoopLagMs: 0, publishP99Ms: 0, dropsPerSecond: 0, storeLatencyMs: 0, rssBytes: 0 };
const CALM: AlertFigures = { eventLoopLagP99Ms: 2, publishP99Ms: 5, dropsPerSecond: 0, storeLatencyMs: 1, storeFailing: false, rssBytes: 100e6 };

function rig(thresholds: Partial<Thresholds>, clearAfterMs = 60_000) {
  const clock = new FakeClock();
  const logger = new MemoryLogger();
  const published: AlertsState[] = [];
  const alerts = createAlerts({ thresholds: { ...OFF, ...thresholds }, clearAfterMs, clock, logger, publish: (s) => published.push(s) });
  const read = (f: Partial<AlertFigures>, advanceMs = 10_000) => {
    clock.advance(advanceMs);
    return alerts.evaluate({ ...CALM, ...f }).map((a) => a.name);
  };
  return { clock, logger, published, alerts, read };
}

it("raises an alert on the first reading over its threshold, logged at warn and published", () => {
  const { read, logger, published, alerts } = rig({ eventLoopLagMs: 200 });
  expect(read({ eventLoopLagP99Ms: 150 })).toEqual([]);
  expect(published).toEqual([]);
  expect(read({ eventLoopLagP99Ms: 350 })).toEqual(["event_loop_lag"]);
  expect(logger.lines).toMatchObject([{ level: "warn", msg: "alert raised", fields: { alert: "event_loop_lag", value: 350, threshold: 200 } }]);
  expect(published.at(-1)).toMatchObject({ type: "alerts", alerts: [{ name: "event_loop_lag", value: 350, threshold: 200, unit: "ms" }] });
  expect(alerts.state().alerts[0].message).toBe("Event-loop lag p99 is 350 ms (threshold 200 ms)");
});

it("clears only once the figure has stayed under the threshold for the clear time", () => {
  const { read, logger, alerts } = rig({ publishP99Ms: 1000 }, 30_000);
  read({ publishP99Ms: 5000 });
  const since = alerts.active()[0].since;
  // under for 20 s, then over again: the count starts afresh and the alert keeps its start time
  expect(read({ publishP99Ms: 10 })).toEqual(["publish_p99"]);
  expect(read({ publishP99Ms: 10 })).toEqual(["publish_p99"]);
  expect(read({ publishP99Ms: 2000 })).toEqual(["publish_p99"]);
  expect(alerts.active()[0].since).toBe(since);
  expect(read({ publishP99Ms: 10 })).toEqual(["publish_p99"]); // under since now
  expect(read({ publishP99Ms: 10 })).toEqual(["publish_p99"]); // 10 s
  expect(read({ publishP99Ms: 10 })).toEqual(["publish_p99"]); // 20 s
  expect(read({ publishP99Ms: 10 })).toEqual([]); // 30 s: cleared
  expect(logger.lines.map((l) => `${l.level} ${l.msg}`)).toEqual(["warn alert raised", "info alert cleared"]);
  expect(alerts.state()).toEqual({ type: "alerts", alerts: [] });
});

it("watches each figure on its own: drops/s, store latency or a failing store, RSS", () => {
  const { read } = rig({ dropsPerSecond: 10, storeLatencyMs: 500, rssBytes: 1e9, publishP99Ms: 1000, eventLoopLagMs: 200 }, 0);
  expect(read({ dropsPerSecond: 11 })).toEqual(["drops"]);
  expect(read({ storeLatencyMs: 800 })).toEqual(["store_latency"]);
  expect(read({ storeFailing: true, storeLatencyMs: 1 })).toEqual(["store_latency"]);
  expect(read({ rssBytes: 2e9 })).toEqual(["rss"]);
  expect(read({ rssBytes: 2e9, dropsPerSecond: 50, storeFailing: true })).toEqual(["drops", "store_latency", "rss"]);
  expect(read({})).toEqual([]);
});

it("never raises an alert whose threshold is 0, nor on a figure with no reading", () => {
  const { read, published } = rig({ eventLoopLagMs: 0, publishP99Ms: 100 });
  expect(read({ eventLoopLagP99Ms: 1e9, publishP99Ms: null })).toEqual([]);
  expect(published).toEqual([]);
});

it("says in the message when the store does not answer", () => {
  const { read, alerts } = rig({ storeLatencyMs: 500 });
  read({ storeFailing: true });
  expect(alerts.active()[0]).toMatchObject({ name: "store_latency", value: null, message: "The store is not answering (threshold 500 ms)" });
});
