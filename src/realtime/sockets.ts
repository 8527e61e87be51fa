// The live sockets behind the registry's records: admission, direct sends, subscriptions, catching
// a drained socket up, cutting off one that stays backed up, closing one-topic sockets when their
// job ends, closing the sockets of a revoked identity, and the shutdown notice. Works on Bun's ServerWebSocket; knows nothing of Elysia.
import type { Hub } from "./hub";
import { serverMessages } from "./protocol";
import type { Connection, ConnectionInfo, Registry } from "./registry";
import type { RealtimeSettings } from "./settings";
import { splitWireTopic, SYSTEM_WIRE_TOPIC, wireTopic } from "./topics";
import { quietLogger, systemClock, type Clock, type RealtimeLogger, type Transport } from "./transport";
import { createConnectionLog } from "./connection-log";

/** The part of Bun's ServerWebSocket used here. */
export interface RawSocket {
  send(data: string): number;
  close(code?: number, reason?: string): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  getBufferedAmount(): number;
}

export const CLOSE = {
  normal: 1000,
  policy: 1008,
  serverError: 1011,
  restart: 1012,
  /** Over a connection limit, or a consumer that stayed backed up: come back later. */
  tryAgainLater: 1013,
  /** The identity was revoked or expired (access.md). A 4xxx code ends htmx's reconnect for good. */
  unauthorized: 4001,
} as const;

/**
 * Revoked token ids remembered so that a socket authenticated just before its token was revoked,
 * and opened just after, is closed as it opens. The gap is one handshake, so the most recent few
 * are enough, and the set cannot grow without bound.
 */
const REMEMBERED_REVOCATIONS = 1024;

export interface SocketTableDeps {
  hub: Hub;
  registry: Registry;
  settings: RealtimeSettings;
  transport: Transport;
  clock?: Clock;
  logger?: RealtimeLogger;
  /** Called after the one-topic sockets of a topic were closed because its state became terminal. */
  onJobTerminalClose?: (topic: string, closedSockets: number) => void;
}

export function createSocketTable(deps: SocketTableDeps) {
  const { hub, registry, settings, transport } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? quietLogger;
  const live = new Map<string, RawSocket>();
  // Only one-topic sockets that end with their job are listed, so the end is one close per socket,
  // not a check per message.
  const endWatch = new Map<string, Set<string>>();
  const droppedWires = new Set<string>();
  const suspects = new Set<string>();
  let sweepTimer: unknown = null;
  let shuttingDown = false;
  let allClosed: (() => void) | null = null;
  let stopped: Promise<void> | null = null;
  const revoked = new Set<string>();
  const endedSessions = new Set<string>();
  const remember = (set: Set<string>, id: string) => {
    set.delete(id);
    set.add(id);
    if (set.size > REMEMBERED_REVOCATIONS) set.delete(set.values().next().value!);
  };
  const resumingCount = new Map<string, number>();
  const lifecycle = createConnectionLog({ hub, registry, clock, logger });

  function send(id: string, data: string): void {
    const raw = live.get(id);
    if (!raw) return;
    const result = raw.send(data);
    if (result === 0) {
      hub.recordDrop();
      suspect(id);
    } else registry.noteSent(id);
  }

  function suspect(id: string | null, wire?: string): void {
    if (id) suspects.add(id);
    if (wire) droppedWires.add(wire);
    if (sweepTimer === null && !shuttingDown) sweepTimer = clock.setTimeout(sweep, settings.slowConsumerGraceMs);
  }

  /** Sockets that were dropping messages a grace period ago and are still backed up get 1013. */
  function sweep(): void {
    sweepTimer = null;
    const ids = new Set(suspects);
    for (const wire of droppedWires) for (const id of registry.subscribers(wire)) ids.add(id);
    suspects.clear();
    droppedWires.clear();
    for (const id of ids) {
      const raw = live.get(id);
      if (!raw) continue;
      try {
        if (raw.getBufferedAmount() >= settings.backpressureLimitBytes / 2) {
          logger.warn("closing a websocket that stayed backed up", { id, buffered: raw.getBufferedAmount() });
          registry.noteError(id, "closed: stayed backed up");
          raw.close(CLOSE.tryAgainLater, "too slow: messages backed up");
        }
      } catch (error) {
        logger.error("slow consumer check failed", { id, error });
      }
    }
  }

  /** Closes every open socket whose connection matches; returns how many. */
  function closeWhere(match: (conn: Connection) => boolean, code: number, reason: string): number {
    // Ids first: a close may call back into the registry while it is being walked.
    const ids: string[] = [];
    for (const conn of registry.all()) if (match(conn)) ids.push(conn.id);
    for (const id of ids) {
      try { live.get(id)?.close(code, reason); } catch { /* already closing */ }
    }
    return ids.length;
  }

  const detachDrop = hub.onDrop((wire) => suspect(null, wire));

  const detachPublish = hub.onPublish((event) => {
    if (!event.terminal) return;
    let closed = 0;
    for (const format of hub.formats()) {
      const wire = wireTopic(format, event.topic);
      const ids = endWatch.get(wire);
      if (!ids) continue;
      endWatch.delete(wire);
      for (const id of ids) {
        const raw = live.get(id);
        if (!raw) continue;
        raw.close(CLOSE.normal, String(event.state.status ?? "finished"));
        closed++;
      }
    }
    if (closed > 0) deps.onJobTerminalClose?.(event.topic, closed);
  });

  return {
    /** Registers a socket (subscribed to the shutdown notice), or closes it: 1012 while shutting down, 1013 over a limit. */
    admit(raw: RawSocket, info: ConnectionInfo): string | null {
      if (shuttingDown) {
        raw.close(CLOSE.restart, "server restarting");
        return null;
      }
      const tokenId = info.identity?.tokenId;
      const sessionId = info.identity?.sessionId;
      if ((tokenId && revoked.has(tokenId)) || (sessionId && endedSessions.has(sessionId))) {
        raw.close(CLOSE.unauthorized, "unauthorized");
        return null;
      }
      const admission = registry.open(info);
      if (!admission.ok) {
        logger.warn("websocket refused", { reason: admission.reason, ip: info.ip, endpoint: info.endpoint });
        raw.close(CLOSE.tryAgainLater, admission.reason);
        return null;
      }
      live.set(admission.conn.id, raw);
      raw.subscribe(SYSTEM_WIRE_TOPIC);
      lifecycle.opened(admission.conn);
      return admission.conn.id;
    },
    send,
    /** The Bun topic this connection follows a topic on: its tier's copy (live.md "Tiers") or the common one. */
    wireOf(id: string, format: string, topic: string): string {
      return hub.wireFor(format, topic, registry.get(id)?.identity.tier);
    },
    /**
     * Sends what the topic holds so far (a state topic's state, an event topic's snapshot) as the
     * connection's tier sees it, then subscribes: no gap and no duplicate, as JS runs this in one go.
     */
    subscribe(id: string, format: string, topic: string, opts: { endWithJob?: boolean; replay?: string[] } = {}): void {
      const raw = live.get(id);
      if (!raw) return;
      const tier = registry.get(id)?.identity.tier;
      const wire = hub.wireFor(format, topic, tier);
      // A resuming subscriber gets what it missed (hub.resume) instead of the snapshot.
      for (const data of opts.replay ?? hub.initial(format, topic, tier)) send(id, data);
      raw.subscribe(wire);
      registry.subscribe(id, wire, topic);
      if (opts.endWithJob) {
        let ids = endWatch.get(wire);
        if (!ids) endWatch.set(wire, (ids = new Set()));
        ids.add(id);
      }
    },
    /** Recoveries read from the store for this connection, not yet subscribed (they count against its topic limit). */
    resuming: (id: string): number => resumingCount.get(id) ?? 0,
    whileResuming(id: string, topic: string, work: Promise<void>): void {
      resumingCount.set(id, (resumingCount.get(id) ?? 0) + 1);
      work.catch((error) => logger.error("websocket recovery failed", { id, topic, error })).finally(() => {
        const n = (resumingCount.get(id) ?? 1) - 1;
        if (n <= 0) resumingCount.delete(id);
        else resumingCount.set(id, n);
      });
    },
    unsubscribe(id: string, format: string, topic: string): void {
      const wire = hub.wireFor(format, topic, registry.get(id)?.identity.tier);
      live.get(id)?.unsubscribe(wire);
      registry.unsubscribe(id, wire);
      endWatch.get(wire)?.delete(id);
    },
    /**
     * After backpressure: the latest state of each subscribed state topic, so the client skips what
     * it missed (an event topic's gap shows in its seq).
     */
    drained(id: string): void {
      const conn = registry.get(id);
      if (!conn) return;
      for (const sub of conn.subs) {
        const { format, topic, tier } = splitWireTopic(sub.wire);
        const data = hub.render(format, topic, tier);
        if (data !== null) send(id, data);
      }
    },
    closed(id: string, code?: number): void {
      const conn = registry.get(id);
      if (conn) for (const sub of conn.subs) endWatch.get(sub.wire)?.delete(id);
      if (conn) lifecycle.closing(conn, code);
      live.delete(id);
      registry.close(id);
      suspects.delete(id);
      if (shuttingDown && live.size === 0) allClosed?.();
    },
    closeOne(id: string, code: number, reason: string): void {
      live.get(id)?.close(code, reason);
    },
    closeWhere,
    /**
     * A token was revoked or expired: its sockets (bearer and session ones alike carry its id)
     * close with 4001 `unauthorized`, and one still opening is closed as it opens.
     */
    closeToken(tokenId: string): number {
      remember(revoked, tokenId);
      const closed = closeWhere((conn) => conn.identity.tokenId === tokenId, CLOSE.unauthorized, "unauthorized");
      if (closed > 0) logger.info("closed the websockets of a revoked token", { tokenId, closed });
      return closed;
    },
    /** A browser session ended (logout, here or on another node): the sockets it opened close with 4001. */
    closeSession(sessionId: string): number {
      remember(endedSessions, sessionId);
      const closed = closeWhere((conn) => conn.identity.sessionId === sessionId, CLOSE.unauthorized, "unauthorized");
      if (closed > 0) logger.info("closed the websockets of an ended session", { closed });
      return closed;
    },
    /** The sessions the open sockets came by (a resync checks they still exist). */
    sessionIds(): string[] {
      const out = new Set<string>();
      for (const id of live.keys()) {
        const session = registry.get(id)?.identity.sessionId;
        if (session) out.add(session);
      }
      return [...out];
    },
    size: () => live.size,
    get shuttingDown() {
      return shuttingDown;
    },
    /**
     * Publishes any pending state, tells every socket `server_shutdown` (one publish on the topic
     * they all share), closes them with 1012 (htmx pages reconnect by themselves) and resolves
     * once all are closed, or after `graceMs`.
     */
    shutdown(message = "server shutting down", graceMs = 2000): Promise<void> {
      if (stopped) return stopped;
      shuttingDown = true;
      hub.flushNow(); // final states before the notice
      transport.publish(SYSTEM_WIRE_TOPIC, serverMessages.serverShutdown(message, clock.now()));
      for (const raw of live.values()) raw.close(CLOSE.restart, "server restarting");
      if (sweepTimer !== null) clock.clearTimeout(sweepTimer);
      sweepTimer = null;
      stopped = live.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => {
        const timer = clock.setTimeout(() => {
          logger.warn("websockets still open after shutdown grace", { open: live.size });
          resolve();
        }, graceMs);
        allClosed = () => {
          clock.clearTimeout(timer);
          resolve();
        };
      });
      return stopped;
    },
    detach(): void {
      lifecycle.stop();
      detachDrop();
      detachPublish();
      if (sweepTimer !== null) clock.clearTimeout(sweepTimer);
      sweepTimer = null;
    },
  };
}

export type SocketTable = ReturnType<typeof createSocketTable>;
