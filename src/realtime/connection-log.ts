// Connection lifecycle logs, as the source systems had them: each socket's open and close at
// debug level (its id, endpoint, how long it lived, messages sent, close code) and, while any
// socket is open, one info line a minute summing up connections and traffic. Reads what the
// registry and the hub already count; its timer runs only while someone is connected.
import type { Hub } from "./hub";
import type { Connection, Registry } from "./registry";
import type { Clock, RealtimeLogger } from "./transport";

export const SUMMARY_EVERY_MS = 60_000;

export interface ConnectionLogDeps {
  hub: Hub;
  registry: Registry;
  clock: Clock;
  logger: RealtimeLogger;
  periodMs?: number;
}

export function createConnectionLog(deps: ConnectionLogDeps) {
  const { hub, registry, clock, logger } = deps;
  const periodMs = deps.periodMs ?? SUMMARY_EVERY_MS;
  let timer: unknown = null;
  let opened = 0;
  let closed = 0;
  let last = { at: 0, messages: 0, bytes: 0, deliveries: 0, drops: 0 };

  function counters(at: number) {
    const s = hub.stats();
    return { at, messages: s.messages, bytes: s.bytes, deliveries: s.deliveries, drops: s.drops };
  }

  function summary(): void {
    timer = null;
    const now = counters(clock.now());
    const stats = registry.stats();
    logger.info("websocket summary", {
      connections: stats.total_connections, by_endpoint: stats.by_endpoint, opened, closed,
      messages: now.messages - last.messages, bytes: now.bytes - last.bytes, deliveries: now.deliveries - last.deliveries,
      drops: now.drops - last.drops, seconds: Math.round((now.at - last.at) / 1000),
    });
    last = now;
    opened = 0;
    closed = 0;
    if (registry.active() > 0) timer = clock.setTimeout(summary, periodMs);
  }

  return {
    opened(conn: Connection): void {
      opened++;
      logger.debug?.("websocket open", { id: conn.id, endpoint: conn.endpoint, role: conn.identity.role, tier: conn.identity.tier });
      if (timer === null) {
        last = counters(clock.now());
        timer = clock.setTimeout(summary, periodMs);
      }
    },
    /** Before the registry forgets it, so its count of messages sent is still there. */
    closing(conn: Connection, code: number | undefined): void {
      closed++;
      logger.debug?.("websocket close", {
        id: conn.id, endpoint: conn.endpoint, duration_ms: Math.max(0, Math.round(clock.now() - conn.connectedAt)),
        messages_sent: registry.broadcastCount(conn), code: code ?? null,
      });
    },
    stop(): void {
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
    },
  };
}
