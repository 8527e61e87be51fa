import { describe, expect, it } from "bun:test";
import { createHub } from "../../src/realtime/hub";
import { createMetricsPublisher } from "../../src/realtime/metrics";
import { createRegistry } from "../../src/realtime/registry";
import { FakeClock, FakeTransport } from "./fakes";

function setup() {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const hub = createHub({ transport, clock, tickMs: 50 });
  const registry = createRegistry({ maxConnections: 10, maxConnectionsPerIp: 10, published: hub.published, clock });
  let collects = 0;
  const metrics = createMetricsPublisher({
    hub, registry, clock, intervalMs: 10_000,
    collect: () => (collects++, { jobs: { running: 2, queued: 1 }, workers: { size: 2, busy: 1, utilisation: 0.5 } }),
  });
  const conn = registry.open({ ip: "1.1.1.1", userAgent: "", endpoint: "/ws" });
  if (!conn.ok) throw new Error("no conn");
  return { clock, transport, hub, registry, metrics, id: conn.conn.id, collects: () => collects };
}

describe("metrics topic", () => {
  it("computes nothing and runs no timer while nobody subscribes", () => {
    const { clock, metrics, collects } = setup();
    clock.advance(60_000);
    expect(collects()).toBe(0);
    expect(metrics.running).toBe(false);
    expect(clock.timers.size).toBe(0);
  });

  it("publishes at once for the first subscriber, then every interval, and stops with the last", () => {
    const { clock, transport, registry, metrics, id, collects } = setup();
    transport.listen("ws|metrics");
    registry.subscribe(id, "ws|metrics", "metrics");
    expect(metrics.running).toBe(true);
    expect(clock.timers.size).toBe(1);
    clock.advance(30_000);
    const updates = transport.on("ws|metrics") as { type: string; seq: number; metrics: Record<string, unknown> }[];
    expect(updates.map((u) => u.seq)).toEqual([1, 2, 3, 4]);
    expect(updates[0].type).toBe("metrics_update");
    expect(updates[1].metrics).toMatchObject({
      connections: 1, jobs: { running: 2, queued: 1 }, workers: { size: 2, busy: 1, utilisation: 0.5 },
      drops: 0, publish_latency_ms: { count: 1 },
    });
    // one message of ~N bytes went out in the 10 s before the second update
    expect(updates[1].metrics.messages_per_second).toBe(0.1);
    registry.unsubscribe(id, "ws|metrics");
    expect(metrics.running).toBe(false);
    expect(clock.timers.size).toBe(0);
    clock.advance(60_000);
    expect(collects()).toBe(4);
  });

  it("keeps going when collect() throws", () => {
    const clock = new FakeClock();
    const transport = new FakeTransport().listen("ws|metrics");
    const hub = createHub({ transport, clock });
    const registry = createRegistry({ maxConnections: 10, maxConnectionsPerIp: 10, published: hub.published, clock });
    const metrics = createMetricsPublisher({ hub, registry, clock, intervalMs: 1000, collect: () => { throw new Error("db down"); } });
    const conn = registry.open({ ip: "x", userAgent: "", endpoint: "/ws" });
    if (conn.ok) registry.subscribe(conn.conn.id, "ws|metrics", "metrics");
    clock.advance(2000);
    expect(transport.on("ws|metrics").length).toBe(3);
    metrics.stop();
    expect(clock.timers.size).toBe(0);
  });
});
