// The Elysia binding: the WebSocket routes of protocol.md and the status endpoints, on top of
// the hub, the registry and the socket table. The global WebSocket options live in settings.ts.
import type { AnyElysia } from "elysia";
import { LEGACY_FORMAT, MUX_FORMAT } from "./formats";
import type { Hub } from "./hub";
import { createMetricsPublisher, type CollectMetrics, type MetricsPublisher } from "./metrics";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus";
import { isPing, parseClientMessage, serverMessages, type MessageId } from "./protocol";
import type { Registry } from "./registry";
import type { RealtimeSettings } from "./settings";
import { CLOSE, createSocketTable, type RawSocket, type SocketTable } from "./sockets";
import { jobTopic, UPDATE_TOPIC, wireTopic } from "./topics";
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
  /** Access role of a connection for /ws/stats (default `public`). */
  roleOf?: (request: Request) => string;
  onJobTerminalClose?: (topic: string, closedSockets: number) => void;
}

export interface TopicSocketOptions {
  /** A format registered with hub.addFormat (or `legacy`). */
  format: string;
  /** The one topic this socket follows, from the path parameters. */
  topic: (params: Record<string, string>) => string;
  /** Close with 1000 once the topic's state is terminal (job sockets). */
  endWithJob?: boolean;
  /** Messages other than `{"type":"ping"}` (e.g. htmx `hx-ws:send` forms); ignored by default. */
  onMessage?: (message: unknown, reply: (data: string) => void) => void;
}

export interface Realtime {
  /** Adds a one-topic socket route, e.g. the htmx pages' fragment sockets. Call before listen. */
  topicSocket(path: string, options: TopicSocketOptions): void;
  readonly sockets: SocketTable;
  readonly metrics: MetricsPublisher;
  /** server_shutdown to every socket, then 1012 for all; resolves when they are closed (or after graceMs). */
  shutdown(message?: string, graceMs?: number): Promise<void>;
}

/** What the handlers use of Elysia's ElysiaWS (typed loosely: Elysia's own types are per route). */
interface WS {
  raw: RawSocket;
  remoteAddress: string;
  data: { request: Request; params?: Record<string, string>; server?: Transport | null };
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
  // Bun's socket object (stable per connection) -> registry connection id. Not Elysia's ws.id:
  // reading that makes Elysia mint a random string per connection, about 50 bytes each.
  const ids = new Map<RawSocket, string>();

  app.onStart((a) => transport.bind(a.server));
  app.onStop(() => transport.bind(null));

  const refuseForeignOrigin = ({ request }: { request: Request }) =>
    originAllowed(request, settings.allowedOrigins) ? undefined : new Response("WebSocket origin not allowed", { status: 403 });

  function open(ws: WS, endpoint: string): string | null {
    // Normally bound on start; a plugin instance's onStart may not fire, and nobody can be
    // subscribed before the first socket opens, so binding here is early enough.
    if (!transport.bound && ws.data.server) transport.bind(ws.data.server);
    const request = ws.data.request;
    const id = sockets.admit(ws.raw, {
      ip: ws.remoteAddress || "unknown",
      userAgent: request.headers.get("user-agent") ?? "",
      endpoint,
      role: opts.roleOf?.(request),
    });
    if (id) ids.set(ws.raw, id);
    return id;
  }

  /** Runs a handler; a fault closes that one socket with 1011 and is logged, never thrown into Bun. */
  function guarded<A extends unknown[]>(what: string, fn: (ws: WS, ...args: A) => void) {
    return (ws: unknown, ...args: A) => {
      const sock = ws as WS;
      try {
        fn(sock, ...args);
      } catch (error) {
        const id = ids.get(sock.raw);
        logger.error(`websocket ${what} failed`, { id, error });
        if (id) registry.noteError(id, (error as Error)?.message ?? String(error));
        try { sock.raw.close(CLOSE.serverError, "server error"); } catch { /* already closing */ }
      }
    };
  }

  const lifecycle = {
    drain: guarded("drain", (ws) => {
      const id = ids.get(ws.raw);
      if (id) sockets.drained(id);
    }),
    close: guarded("close", (ws) => {
      const id = ids.get(ws.raw);
      ids.delete(ws.raw);
      if (id) sockets.closed(id);
    }),
  };

  function topicSocket(path: string, o: TopicSocketOptions): void {
    app.ws(path, {
      beforeHandle: refuseForeignOrigin,
      open: guarded("open", (ws) => {
        const id = open(ws, path);
        if (!id) return;
        const topic = o.topic(ws.data.params ?? {});
        const snap = hub.snapshot(topic);
        if (!snap.ok) return sockets.closeOne(id, CLOSE.policy, snap.reason);
        if (o.endWithJob && snap.state && hub.isTerminal(topic, snap.state)) {
          const data = hub.render(o.format, topic);
          if (data !== null) sockets.send(id, data);
          return sockets.closeOne(id, CLOSE.normal, String(snap.state.status ?? "finished"));
        }
        sockets.subscribe(id, o.format, topic, { endWithJob: o.endWithJob });
      }),
      message: guarded("message", (ws, message: unknown) => {
        const id = ids.get(ws.raw);
        if (!id) return;
        registry.noteMessage(id);
        const ping = isPing(message);
        if (ping.ping) sockets.send(id, serverMessages.pong(clock.now(), ping.id));
        else o.onMessage?.(message, (data) => sockets.send(id, data));
      }),
      ...lifecycle,
    } as never);
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
    const subscribed = registry.isSubscribed(id, wireTopic(MUX_FORMAT, m.topic));
    if (m.type === "unsubscribe") {
      if (subscribed) sockets.unsubscribe(id, MUX_FORMAT, m.topic);
      return sockets.send(id, serverMessages.unsubscriptionConfirmed(m.topic, m.id));
    }
    if (subscribed) return sockets.send(id, serverMessages.subscriptionConfirmed(m.topic, m.id));
    if (conn.subs.length >= settings.maxTopicsPerConnection) {
      return fail(`subscription limit reached: at most ${settings.maxTopicsPerConnection} topics per connection`, m.id);
    }
    const snap = hub.snapshot(m.topic);
    if (!snap.ok) return fail(`unknown topic "${m.topic}"`, m.id);
    sockets.send(id, serverMessages.subscriptionConfirmed(m.topic, m.id));
    sockets.subscribe(id, MUX_FORMAT, m.topic);
  }

  app.ws("/ws", {
    beforeHandle: refuseForeignOrigin,
    open: guarded("open", (ws) => {
      const id = open(ws, "/ws");
      if (id) sockets.send(id, serverMessages.welcome(id));
    }),
    message: guarded("message", (ws, message: unknown) => {
      const id = ids.get(ws.raw);
      if (!id) return;
      registry.noteMessage(id);
      muxMessage(id, message);
    }),
    ...lifecycle,
  } as never);

  const job = (p: Record<string, string>) => jobTopic(p.id ?? "");
  topicSocket("/ws/grid-search/:id", { format: LEGACY_FORMAT, topic: job, endWithJob: true });
  topicSocket("/ws/simulation/:id", { format: LEGACY_FORMAT, topic: job, endWithJob: true });
  topicSocket("/ws/update/status", { format: LEGACY_FORMAT, topic: () => UPDATE_TOPIC });

  app.get("/api/websocket/status", () => registry.status());
  app.get("/ws/stats", () => registry.stats());
  // Read on demand: a scrape computes one reading, whether or not anyone subscribes to `metrics`.
  app.get("/metrics", () => new Response(formatPrometheus(metrics.figures()), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } }));

  return {
    topicSocket,
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
