// The connection registry: who is connected, to what, with which limits, and the plain snapshots
// behind GET /api/websocket/status and GET /ws/stats. Counting broadcasts costs nothing per
// delivery: a subscription records the wire topic's publish count at subscribe time, and a
// connection's count is the sum of (count now - baseline) when someone asks.
import { quietLogger, systemClock, type Clock, type RealtimeLogger } from "./transport";

/**
 * Who a socket acts as (access.md), as plain fields: how access decides them is not this module's
 * business. The registry keeps one frozen copy per distinct identity, shared by all its
 * connections, so an idle connection pays a pointer for it, not four fields.
 */
export interface SocketIdentity {
  readonly role: string;
  readonly tier: string;
  /** The token's name (null when auth is off): what the status report shows. */
  readonly token: string | null;
  /** The token's id (null when auth is off): what a revocation closes by. */
  readonly tokenId: string | null;
  /** The browser session it came by (a cookie's stored id), if so: what a logout closes by. */
  readonly sessionId?: string | null;
}

/** Auth off: every request acts as admin with tier pro (access.md "Modes"). */
export const OPEN_SOCKET_IDENTITY: SocketIdentity = Object.freeze({ role: "admin", tier: "pro", token: null, tokenId: null });

export interface ConnectionInfo {
  ip: string;
  userAgent: string;
  /** The route pattern, e.g. `/ws` or `/ws/grid-search/:id`. */
  endpoint: string;
  /** Who the socket acts as; OPEN_SOCKET_IDENTITY when not given. */
  identity?: SocketIdentity;
}

export interface Subscription {
  /** The Bun topic, `format|topic`. */
  readonly wire: string;
  readonly topic: string;
  /** The wire topic's publish count when subscribed. */
  readonly baseline: number;
  /** The last seq the client acknowledged (protocol.md `ack`); null before its first. */
  acked: number | null;
}

export interface Connection {
  readonly id: string;
  readonly connectedAt: number;
  readonly ip: string;
  readonly userAgent: string;
  readonly endpoint: string;
  /** Shared with every connection of the same identity (frozen). */
  readonly identity: SocketIdentity;
  /** Messages sent to this socket alone (welcome, acks, pongs, snapshots). */
  sent: number;
  lastSentAt: number | null;
  received: number;
  lastMessageAt: number | null;
  errors: number;
  lastError: string | null;
  /**
   * A list, not a Map: nearly every connection holds one subscription (at most
   * maxTopicsPerConnection), and a one-entry Map costs about 200 bytes more per idle connection.
   */
  readonly subs: Subscription[];
  /** Broadcasts received on topics since unsubscribed. */
  retired: number;
}

export interface RegistryDeps {
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** The hub's per wire topic publish count (hub.published). */
  published: (wire: string) => { count: number; lastAt: number };
  /** The latest seq a wire topic's subscribers have been sent (for the lag behind acks). */
  latestSeq?: (wire: string) => number;
  clock?: Clock;
  logger?: RealtimeLogger;
}

export type Admission = { ok: true; conn: Connection } | { ok: false; reason: string };

export interface ConnectionStatus {
  id: string;
  connectedAt: string;
  broadcastCount: number;
  errorCount: number;
  lastBroadcast: string | null;
  lastError: string | null;
  clientInfo: { userAgent: string; ip: string };
  endpoint: string;
  topics: string[];
  role: string;
  tier: string;
  /** The token's name; null when auth is off. */
  token: string | null;
  /** Per topic acknowledged with `ack`: the latest seq, the acknowledged one, and the lag between. */
  acks: { topic: string; seq: number; acked: number; lag: number }[];
}

export interface WebSocketStatus {
  status: "ok";
  timestamp: string;
  summary: { activeConnections: number; trackedConnections: number; totalBroadcasts: number; totalErrors: number };
  connections: ConnectionStatus[];
  /** Present when more connections exist than were listed. */
  truncated?: boolean;
}

export interface WsStats {
  timestamp: string;
  total_connections: number;
  by_topic: Record<string, number>;
  by_role: Record<string, number>;
  by_tier: Record<string, number>;
  by_endpoint: Record<string, number>;
  limits: { max_connections: number; max_connections_per_ip: number };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function bump(map: Map<string, number>, key: string, by: number): number {
  const n = (map.get(key) ?? 0) + by;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
  return n;
}

export function createRegistry(deps: RegistryDeps) {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? quietLogger;
  const conns = new Map<string, Connection>();
  const perIp = new Map<string, number>();
  const perTopic = new Map<string, number>();
  const perRole = new Map<string, number>();
  const perTier = new Map<string, number>();
  // One frozen identity per distinct (token, role, tier, name) among open connections, with how
  // many use it: dropped with its last connection, so it holds no more entries than sockets.
  const identities = new Map<string, { identity: SocketIdentity; users: number }>();
  const perEndpoint = new Map<string, number>();
  const subscribersOf = new Map<string, Set<string>>();
  const activity = new Set<(topic: string, subscribers: number) => void>();
  let counter = 0;
  let closedBroadcasts = 0;
  let closedErrors = 0;

  function broadcasts(conn: Connection): number {
    let n = conn.retired;
    for (const sub of conn.subs) n += Math.max(0, deps.published(sub.wire).count - sub.baseline);
    return n + conn.sent;
  }

  function lastBroadcast(conn: Connection): number | null {
    let last = conn.lastSentAt;
    for (const sub of conn.subs) {
      const w = deps.published(sub.wire);
      if (w.count > sub.baseline && (last === null || w.lastAt > last)) last = w.lastAt;
    }
    return last;
  }

  const identityKey = (i: SocketIdentity) => `${i.tokenId ?? ""}\u0000${i.role}\u0000${i.tier}\u0000${i.token ?? ""}\u0000${i.sessionId ?? ""}`;

  function shareIdentity(given: SocketIdentity): SocketIdentity {
    const key = identityKey(given);
    const known = identities.get(key);
    if (known) {
      known.users++;
      return known.identity;
    }
    const identity: SocketIdentity = Object.freeze({ role: given.role, tier: given.tier, token: given.token, tokenId: given.tokenId, ...(given.sessionId ? { sessionId: given.sessionId } : {}) });
    identities.set(key, { identity, users: 1 });
    return identity;
  }

  function releaseIdentity(identity: SocketIdentity): void {
    const key = identityKey(identity);
    const known = identities.get(key);
    if (known && --known.users <= 0) identities.delete(key);
  }

  function topicChanged(topic: string, by: number): void {
    const n = bump(perTopic, topic, by);
    if ((by > 0 && n === 1) || (by < 0 && n === 0)) {
      for (const l of activity) {
        try { l(topic, n); } catch (error) { logger.error("topic activity listener failed", { topic, error }); }
      }
    }
  }

  function unsubscribe(id: string, wire: string): boolean {
    const conn = conns.get(id);
    const i = conn ? conn.subs.findIndex((s) => s.wire === wire) : -1;
    if (!conn || i < 0) return false;
    const sub = conn.subs[i];
    conn.retired += Math.max(0, deps.published(wire).count - sub.baseline);
    conn.subs.splice(i, 1);
    const set = subscribersOf.get(wire);
    set?.delete(id);
    if (set && set.size === 0) subscribersOf.delete(wire);
    topicChanged(sub.topic, -1);
    return true;
  }

  return {
    /** Admits and records a connection, or says why not (the binding closes it with 1013). */
    open(info: ConnectionInfo): Admission {
      if (conns.size >= deps.maxConnections) return { ok: false, reason: `server full (${deps.maxConnections} connections)` };
      if ((perIp.get(info.ip) ?? 0) >= deps.maxConnectionsPerIp) {
        return { ok: false, reason: `too many connections from this address (${deps.maxConnectionsPerIp})` };
      }
      const now = Math.round(clock.now());
      const conn: Connection = {
        id: `ws_${++counter}_${now}`, connectedAt: now, ip: info.ip, userAgent: info.userAgent, endpoint: info.endpoint,
        identity: shareIdentity(info.identity ?? OPEN_SOCKET_IDENTITY), sent: 0, lastSentAt: null, received: 0, lastMessageAt: null, errors: 0, lastError: null,
        subs: [], retired: 0,
      };
      conns.set(conn.id, conn);
      bump(perIp, conn.ip, 1);
      bump(perRole, conn.identity.role, 1);
      bump(perTier, conn.identity.tier, 1);
      bump(perEndpoint, conn.endpoint, 1);
      return { ok: true, conn };
    },
    close(id: string): Connection | undefined {
      const conn = conns.get(id);
      if (!conn) return undefined;
      for (const sub of [...conn.subs]) unsubscribe(id, sub.wire);
      closedBroadcasts += broadcasts(conn);
      closedErrors += conn.errors;
      conns.delete(id);
      bump(perIp, conn.ip, -1);
      bump(perRole, conn.identity.role, -1);
      bump(perTier, conn.identity.tier, -1);
      releaseIdentity(conn.identity);
      bump(perEndpoint, conn.endpoint, -1);
      return conn;
    },
    get: (id: string) => conns.get(id),
    all: () => conns.values(),
    /** False when already subscribed to that wire topic. */
    subscribe(id: string, wire: string, topic: string): boolean {
      const conn = conns.get(id);
      if (!conn || conn.subs.some((s) => s.wire === wire)) return false;
      conn.subs.push({ wire, topic, baseline: deps.published(wire).count, acked: null });
      let set = subscribersOf.get(wire);
      if (!set) subscribersOf.set(wire, (set = new Set()));
      set.add(id);
      topicChanged(topic, 1);
      return true;
    },
    unsubscribe,
    isSubscribed: (id: string, wire: string): boolean => conns.get(id)?.subs.some((s) => s.wire === wire) ?? false,
    /** Ids of connections subscribed to a wire topic (kept at subscribe time, not per delivery). */
    subscribers: (wire: string): ReadonlySet<string> => subscribersOf.get(wire) ?? new Set<string>(),
    topicSubscribers: (topic: string) => perTopic.get(topic) ?? 0,
    /** Called with the topic's subscriber count when it goes from 0 to 1 or back to 0. */
    onTopicActivity(listener: (topic: string, subscribers: number) => void): () => void {
      activity.add(listener);
      return () => activity.delete(listener);
    },
    /** A client's `ack`: it has processed the topic up to `seq`; ignored for a topic it does not follow. */
    noteAck(id: string, wire: string, seq: number): void {
      const sub = conns.get(id)?.subs.find((s) => s.wire === wire);
      if (sub && (sub.acked === null || seq > sub.acked)) sub.acked = seq;
    },
    noteSent(id: string, n = 1): void {
      const conn = conns.get(id);
      if (conn) { conn.sent += n; conn.lastSentAt = Math.round(clock.now()); }
    },
    noteMessage(id: string): void {
      const conn = conns.get(id);
      if (conn) { conn.received++; conn.lastMessageAt = Math.round(clock.now()); }
    },
    noteError(id: string, message: string): void {
      const conn = conns.get(id);
      if (conn) { conn.errors++; conn.lastError = message; }
    },
    broadcastCount: broadcasts,
    active: () => conns.size,
    health: () => ({ activeConnections: conns.size, totalConnectionsTracked: conns.size }),
    /** GET /api/websocket/status (camelCase, as the source system had it). */
    status(limit = 1000): WebSocketStatus {
      const list: ConnectionStatus[] = [];
      let totalBroadcasts = closedBroadcasts;
      let totalErrors = closedErrors;
      for (const conn of conns.values()) {
        const count = broadcasts(conn);
        totalBroadcasts += count;
        totalErrors += conn.errors;
        if (list.length >= limit) continue;
        list.push({
          id: conn.id, connectedAt: iso(conn.connectedAt)!, broadcastCount: count, errorCount: conn.errors,
          lastBroadcast: iso(lastBroadcast(conn)), lastError: conn.lastError,
          clientInfo: { userAgent: conn.userAgent, ip: conn.ip }, endpoint: conn.endpoint,
          topics: [...new Set(conn.subs.map((s) => s.topic))],
          role: conn.identity.role, tier: conn.identity.tier, token: conn.identity.token,
          acks: conn.subs.filter((sub) => sub.acked !== null).map((sub) => {
            const seq = deps.latestSeq?.(sub.wire) ?? sub.acked!;
            return { topic: sub.topic, seq, acked: sub.acked!, lag: Math.max(0, seq - sub.acked!) };
          }),
        });
      }
      const out: WebSocketStatus = {
        status: "ok", timestamp: new Date(clock.now()).toISOString(),
        summary: { activeConnections: conns.size, trackedConnections: conns.size, totalBroadcasts, totalErrors },
        connections: list,
      };
      if (list.length < conns.size) out.truncated = true;
      return out;
    },
    /** GET /ws/stats: connection counts by topic, by access role and tier, and by endpoint. */
    stats(): WsStats {
      return {
        timestamp: new Date(clock.now()).toISOString(), total_connections: conns.size,
        by_topic: Object.fromEntries(perTopic), by_role: Object.fromEntries(perRole),
        by_tier: Object.fromEntries(perTier), by_endpoint: Object.fromEntries(perEndpoint),
        limits: { max_connections: deps.maxConnections, max_connections_per_ip: deps.maxConnectionsPerIp },
      };
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;
