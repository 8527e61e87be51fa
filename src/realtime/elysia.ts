// The Elysia binding: how a socket route upgrades, admits, subscribes and answers (one-topic and
// multiplexed sockets of protocol.md), and the status readings, on top of the hub, the registry
// and the socket table. Which paths exist is decided where routes are mounted (src/http/routes).
// The global WebSocket options live in settings.ts.
import type { AnyElysia } from "elysia";
import { DomainError } from "../errors";
import { MUX_FORMAT } from "./formats";
import type { Hub, Resumption } from "./hub";
import { createMetricsPublisher, type CollectMetrics, type MetricsPublisher } from "./metrics";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus";
import { isPing, parseClientMessage, serverMessages, type MessageId } from "./protocol";
import type { Registry, SocketIdentity, WebSocketStatus, WsStats } from "./registry";
import type { RealtimeSettings } from "./settings";
import { CLOSE, createSocketTable, type RawSocket, type SocketTable } from "./sockets";
import { quietLogger, systemClock, type Clock, type LateTransport, type RealtimeLogger, type Transport } from "./transport";

export interface MountOptions {
  hub: Hub;
  registry: Registry;
  settings: RealtimeSettings;
  /** The late-bound transport the hub publishes through; bound to Bun's server on start. */
  transport: LateTransport;
  logger?: RealtimeLogger;
  clock?: Clock;
  /** Jobs by state and worker utilisation for `metrics_update` (called while someone listens) and GET /metrics. */
  collect?: CollectMetrics;
  /**
   * Who an upgrade request acts as (the access guard has refused one without an identity before
   * this runs); OPEN_SOCKET_IDENTITY (admin, pro) when not given. Recorded per connection for
   * /ws/stats, the status report and revocation.
   */
  identityOf?: (request: Request) => SocketIdentity;
  onJobTerminalClose?: (topic: string, closedSockets: number) => void;
}

export interface TopicSocketOptions {
  /** A format registered with hub.addFormat (or `legacy`). */
  format: string;
  /** The one topic this socket follows, from the path parameters. */
  topic: (params: Record<string, string>) => string;
  /** Close with 1000 once the topic's state is terminal (job sockets). */
  endWithJob?: boolean;
  /**
   * Further topics this socket follows for an identity, on the same socket (an admin's page: the
   * alerts banner), so that a page holds one socket whatever it shows.
   */
  alsoFollow?: (identity: SocketIdentity) => readonly string[];
  /** Messages other than `{"type":"ping"}` (e.g. htmx `hx-ws:send` forms), as received; ignored by default. */
  onMessage?: (message: string | Buffer, reply: (data: string) => void) => void;
}

export interface Realtime {
  /** Adds a one-topic socket route (the job sockets of protocol.md, the pages' fragment sockets). Call before listen. */
  topicSocket(path: string, options: TopicSocketOptions): void;
  /** Adds the multiplexed socket of protocol.md (subscribe/unsubscribe/ping on many topics). Call before listen. */
  muxSocket(path: string): void;
  /** GET /api/websocket/status: every connection. */
  status(): WebSocketStatus;
  /** GET /ws/stats: counts by endpoint and role. */
  stats(): WsStats;
  /** GET /metrics: one reading in Prometheus text. */
  prometheus(): Response;
  readonly sockets: SocketTable;
  readonly metrics: MetricsPublisher;
  /** server_shutdown to every socket, then 1012 for all; resolves when they are closed (or after graceMs). */
  shutdown(message?: string, graceMs?: number): Promise<void>;
}

/** What the handlers use of Bun's ServerWebSocket: `data` is the connection's SocketData. */
interface BunSocket extends RawSocket {
  readonly remoteAddress: string;
  readonly data: SocketData;
}

/** What the upgrade handler uses of Elysia's context. */
interface UpgradeContext {
  request: Request;
  params?: Record<string, string>;
  server: (Transport & { upgrade(request: Request, options: { data: SocketData }): boolean }) | null;
}

/** One socket route: its pattern, its topic (one-topic sockets) and what it does on open and message. */
interface SocketRoute {
  endpoint: string;
  topic?: (params: Record<string, string>) => string;
  opened(id: string, data: SocketData): void;
  message(id: string, message: string | Buffer): void;
}

/** What Bun calls for a connection, through its SocketData; one per route, shared by its connections. */
interface SocketHandlers {
  open(ws: BunSocket, data: SocketData): void;
  message(ws: BunSocket, data: SocketData, message: string | Buffer): void;
  drain(ws: BunSocket, data: SocketData): void;
  close(ws: BunSocket, data: SocketData, code?: number): void;
}

const notUpgraded = () => new DomainError("upgrade_required", "this path is a WebSocket: open it with an Upgrade: websocket request");

/** A user agent is shown in the status report, not parsed: a long hostile one is cut here. */
const MAX_USER_AGENT = 256;

/**
 * Everything Bun keeps per connection as `ws.data`, besides the registry's record: a few fields,
 * the handlers shared per route. Elysia's own `.ws()` keeps a copy of the request context and
 * a set of closures per connection (about 2.5 KB more, measured with bench-ws), so the routes
 * upgrade themselves; Elysia's Bun adapter calls `ws.data.open/message/drain/close(ws, ...)`
 * on whatever data an upgrade carries (test/realtime covers every one of them).
 */
class SocketData {
  /** The registry's connection id; null before open, after close, and for a socket refused at open. */
  id: string | null = null;
  constructor(
    readonly handlers: SocketHandlers,
    readonly topic: string,
    readonly userAgent: string,
    /** The upgrade's identity until open; then the registry's shared copy is the one kept. */
    public identity: SocketIdentity | undefined,
  ) {}
  open(ws: BunSocket): void { this.handlers.open(ws, this); }
  message(ws: BunSocket, message: string | Buffer): void { this.handlers.message(ws, this, message); }
  drain(ws: BunSocket): void { this.handlers.drain(ws, this); }
  close(ws: BunSocket, code?: number): void { this.handlers.close(ws, this, code); }
}

/** Same-origin and Origin-less requests always; others only when listed (or `*` is). */
export function originAllowed(request: Request, allowedOrigins: readonly string[]): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true; // not a browser, or a same-origin request that sent none
  const o = origin.trim().toLowerCase();
  if (allowedOrigins.includes("*") || allowedOrigins.includes(o)) return true;
  try {
    return new URL(o).host === (request.headers.get("host") ?? "").toLowerCase();
  } catch {
    return false;
  }
}

export function mountRealtime(app: AnyElysia, opts: MountOptions): Realtime {
  const { hub, registry, settings, transport } = opts;
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? quietLogger;
  const sockets = createSocketTable({ hub, registry, settings, transport, clock, logger, onJobTerminalClose: opts.onJobTerminalClose });
  const metrics = createMetricsPublisher({ hub, registry, intervalMs: settings.metricsIntervalMs, collect: opts.collect, clock, logger });

  app.onStart((a) => transport.bind(a.server));
  app.onStop(() => transport.bind(null));

  /** Runs a handler; a fault closes that one socket with 1011 and is logged, never thrown into Bun. */
  function guarded(what: string, ws: BunSocket, data: SocketData, fn: (id: string) => void): void {
    const id = data.id;
    if (id === null) return;
    try {
      fn(id);
    } catch (error) {
      logger.error(`websocket ${what} failed`, { id, error });
      registry.noteError(id, (error as Error)?.message ?? String(error));
      try { ws.close(CLOSE.serverError, "server error"); } catch { /* already closing */ }
    }
  }

  function handlersFor(route: SocketRoute): SocketHandlers {
    return {
      open(ws, data) {
        try {
          const identity = data.identity;
          data.identity = undefined;
          data.id = sockets.admit(ws, { ip: ws.remoteAddress || "unknown", userAgent: data.userAgent, endpoint: route.endpoint, identity });
        } catch (error) {
          logger.error("websocket admission failed", { error });
          try { ws.close(CLOSE.serverError, "server error"); } catch { /* already closing */ }
        }
        guarded("open", ws, data, (id) => route.opened(id, data));
      },
      message(ws, data, message) {
        guarded("message", ws, data, (id) => {
          registry.noteMessage(id);
          route.message(id, message);
        });
      },
      drain: (ws, data) => guarded("drain", ws, data, (id) => sockets.drained(id)),
      close(ws, data, code) {
        guarded("close", ws, data, (id) => sockets.closed(id, code));
        data.id = null;
      },
    };
  }

  /** The upgrade: origin check, then Bun's upgrade with a SocketData; a plain GET gets 426. */
  function mount(route: SocketRoute): void {
    const handlers = handlersFor(route);
    app.route("WS", route.endpoint, ((ctx: UpgradeContext) => {
      const { request, server } = ctx;
      if (!originAllowed(request, settings.allowedOrigins)) throw new DomainError("forbidden", "WebSocket origin not allowed");
      // Normally bound on start; a plugin instance's onStart may not fire, and nobody can be
      // subscribed before the first socket opens, so binding here is early enough.
      if (!transport.bound && server) transport.bind(server);
      const userAgent = (request.headers.get("user-agent") ?? "").slice(0, MAX_USER_AGENT);
      const data = new SocketData(handlers, route.topic?.(ctx.params ?? {}) ?? "", userAgent, opts.identityOf?.(request));
      if (server?.upgrade(request, { data })) return undefined;
      throw notUpgraded();
    }) as never);
    // A plain GET (no Upgrade header) is routed here, not to the socket route above.
    app.get(route.endpoint, () => {
      throw notUpgraded();
    });
  }

  function topicSocket(path: string, o: TopicSocketOptions): void {
    mount({
      endpoint: path,
      topic: o.topic,
      opened(id, data) {
        const topic = data.topic;
        const snap = hub.snapshot(topic);
        if (!snap.ok) return sockets.closeOne(id, CLOSE.policy, snap.reason);
        if (o.endWithJob && snap.state && hub.isTerminal(topic, snap.state)) {
          const text = hub.render(o.format, topic);
          if (text !== null) sockets.send(id, text);
          return sockets.closeOne(id, CLOSE.normal, String(snap.state.status ?? "finished"));
        }
        sockets.subscribe(id, o.format, topic, { endWithJob: o.endWithJob });
        const identity = registry.get(id)?.identity;
        for (const extra of identity && o.alsoFollow ? o.alsoFollow(identity) : []) {
          if (extra !== topic && hub.snapshot(extra).ok) sockets.subscribe(id, o.format, extra);
        }
      },
      message(id, message) {
        const ping = isPing(message);
        if (ping.ping) sockets.send(id, serverMessages.pong(clock.now(), ping.id));
        else o.onMessage?.(message, (text) => sockets.send(id, text));
      },
    });
  }

  function muxMessage(id: string, message: unknown): void {
    const parsed = parseClientMessage(message);
    const fail = (error: string, msgId?: MessageId) => {
      registry.noteError(id, error);
      sockets.send(id, serverMessages.error(error, msgId));
    };
    if (!parsed.ok) return fail(parsed.error, parsed.id);
    const m = parsed.message;
    if (m.type === "ping") return sockets.send(id, serverMessages.pong(clock.now(), m.id));
    const conn = registry.get(id);
    if (!conn) return;
    const wire = sockets.wireOf(id, MUX_FORMAT, m.topic);
    const subscribed = registry.isSubscribed(id, wire);
    // No reply (protocol.md): an ack of a topic not followed is dropped.
    if (m.type === "ack") return void registry.noteAck(id, wire, m.seq);
    if (m.type === "unsubscribe") {
      if (subscribed) sockets.unsubscribe(id, MUX_FORMAT, m.topic);
      return sockets.send(id, serverMessages.unsubscriptionConfirmed(m.topic, m.id));
    }
    const tier = conn.identity.tier;
    if (subscribed) return sockets.send(id, serverMessages.subscriptionConfirmed(m.topic, hub.position(m.topic, tier), m.id));
    if (conn.subs.length + sockets.resuming(id) >= settings.maxTopicsPerConnection) {
      return fail(`subscription limit reached: at most ${settings.maxTopicsPerConnection} topics per connection`, m.id);
    }
    const snap = hub.snapshot(m.topic);
    if (!snap.ok) return fail(`unknown topic "${m.topic}"`, m.id);
    if (!m.since) {
      sockets.send(id, serverMessages.subscriptionConfirmed(m.topic, hub.position(m.topic, tier), m.id));
      return sockets.subscribe(id, MUX_FORMAT, m.topic);
    }
    const start = (r: Resumption) => {
      // Sent, then subscribed, in one go: what is published from here on follows the replay.
      sockets.send(id, serverMessages.subscriptionConfirmed(m.topic, { ...hub.position(m.topic, tier), recovered: r.recovered }, m.id));
      sockets.subscribe(id, MUX_FORMAT, m.topic, { replay: r.messages });
    };
    const plan = hub.resume(m.topic, tier, m.since);
    if (!(plan instanceof Promise)) return start(plan);
    // From the store: the socket may close, or subscribe again, while it is read.
    sockets.whileResuming(id, m.topic, plan.then((r) => {
      if (registry.get(id) && !registry.isSubscribed(id, wire)) start(r);
    }));
  }

  function muxSocket(path: string): void {
    mount({
      endpoint: path,
      opened: (id) => sockets.send(id, serverMessages.welcome(id)),
      message: muxMessage,
    });
  }

  return {
    topicSocket,
    muxSocket,
    status: () => registry.status(),
    stats: () => registry.stats(),
    // Read on demand: a scrape computes one reading, whether or not anyone subscribes to `metrics`.
    prometheus: () => new Response(formatPrometheus(metrics.figures()), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } }),
    sockets,
    metrics,
    shutdown(message, graceMs) {
      metrics.stop();
      const done = sockets.shutdown(message, graceMs);
      hub.close();
      return done.finally(() => sockets.detach());
    },
  };
}
