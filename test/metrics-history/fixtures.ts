// Real figures on a FakeClock for the history and alert tests: a hub, a registry and the metrics
// publisher's figures(), with the event-loop lag and the other collected figures set by the test.
import { createHub } from "../../src/realtime/hub";
import { createMetricsPublisher, type EventLoopLagFigures } from "../../src/realtime/metrics";
import { createRegistry } from "../../src/realtime/registry";
import { FakeClock, FakeTransport, MemoryLogger } from "../realtime/fakes";

export function figuresRig() {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const hub = createHub({ transport, clock, tickMs: 50 });
  const registry = createRegistry({ maxConnections: 10, maxConnectionsPerIp: 10, published: hub.published, clock });
  const injected = { lag: { p99Ms: 3, maxMs: 5, windowMs: 10_000 } as EventLoopLagFigures, busy: 1, rss: 100 * 1024 ** 2 };
  const metrics = createMetricsPublisher({
    hub, registry, clock, intervalMs: 10_000,
    collect: () => ({ jobs: { running: 1, queued: 2 }, workers: { size: 2, busy: injected.busy }, eventLoop: injected.lag }),
    memory: () => ({ rss_bytes: injected.rss, heap_used_bytes: 1, heap_total_bytes: 2, external_bytes: 0 }),
  });
  return { clock, transport, hub, registry, metrics, injected, logger: new MemoryLogger() };
}
