// Event-loop lag: the p99 over the last one to two windows (a stall shows at once and for a
// whole window after), Bun's histogram seeing a real block, and the gauges in GET /metrics.
import { expect, it } from "bun:test";
import { createEventLoopLag, histogramSource, type LagSource } from "../../src/ops/event-loop-lag";
import { formatPrometheus } from "../../src/realtime/prometheus";
import { eventually } from "../support/eventually";
import { FakeClock } from "../realtime/fakes";
import { figuresRig } from "../metrics-history/fixtures";

class FakeSource implements LagSource {
  now: { p99Ms: number; maxMs: number } | null = null;
  read = () => this.now;
  reset = () => void (this.now = null);
  stop() {}
}

it("reports the worse of the last window and the current one, and forgets a stall two windows on", () => {
  const clock = new FakeClock();
  const source = new FakeSource();
  const lag = createEventLoopLag({ clock, windowMs: 10_000, source });
  expect(lag.figures()).toEqual({ p99Ms: 0, maxMs: 0, windowMs: 10_000 });
  source.now = { p99Ms: 300, maxMs: 450 };
  expect(lag.figures().p99Ms).toBe(300); // at once
  clock.advance(10_000); // the stall's window completes
  source.now = { p99Ms: 2, maxMs: 3 };
  expect(lag.figures()).toEqual({ p99Ms: 300, maxMs: 450, windowMs: 10_000 });
  clock.advance(10_000);
  source.now = { p99Ms: 2, maxMs: 3 };
  expect(lag.figures()).toEqual({ p99Ms: 2, maxMs: 3, windowMs: 10_000 });
  lag.stop();
  expect(clock.timers.size).toBe(0);
});

it("sees a blocked event loop through Bun's monitorEventLoopDelay", async () => {
  const source = histogramSource(5);
  expect(source).not.toBeNull();
  try {
    // A loaded machine may run the sampler's timer late anyway: block, let it sample, look; a few times at most.
    let seen: { p99Ms: number; maxMs: number } | null = null;
    for (let attempt = 0; attempt < 5 && !(seen && seen.maxMs >= 60); attempt++) {
      await new Promise((r) => setTimeout(r, 20));
      const until = performance.now() + 100;
      while (performance.now() < until) { /* block the loop */ }
      await new Promise((r) => setTimeout(r, 50));
      seen = source!.read();
    }
    expect(seen?.maxMs ?? 0).toBeGreaterThanOrEqual(60);
  } finally {
    source!.stop();
  }
});

it("puts the lag in GET /metrics as gauges in seconds, and in metrics_update", () => {
  const rig = figuresRig();
  rig.injected.lag = { p99Ms: 250, maxMs: 1250.5, windowMs: 10_000 };
  const text = formatPrometheus(rig.metrics.figures());
  expect(text).toContain("# TYPE gridcast_event_loop_lag_p99_seconds gauge\ngridcast_event_loop_lag_p99_seconds 0.25\n");
  expect(text).toContain("gridcast_event_loop_lag_max_seconds 1.2505\n");
  expect(text).toContain("gridcast_event_loop_lag_window_seconds 10\n");
  const update = rig.metrics.publishNow();
  expect(update.event_loop_lag_ms).toEqual({ p99: 250, max: 1250.5, window_ms: 10_000 });
});
