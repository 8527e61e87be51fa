// The cluster bus on PostgreSQL (bus.ts, cluster.md "Topics cross nodes"): every node NOTIFYs on one
// channel and LISTENs on it through one dedicated connection. What a node queues between two
// flushes (--cluster-flush-ms) goes out as few NOTIFYs as fit: `{"from": self, "m": [...]}`, each
// payload under PAYLOAD_MAX bytes (PostgreSQL refuses 8000 and more).
//
// A LISTEN connection can die without anybody noticing (a killed backend, a proxy that drops idle
// connections, a server restart): every --heartbeat-ms the node NOTIFYs a ping to itself, and a
// ping that has not come back within two heartbeats marks the bus not listening. While it is not,
// the listen connection is replaced every two heartbeats; when its own ping comes back (or
// postgres.js re-listened by itself after a drop), the onResync handlers re-read what may have
// been missed.
import postgres from "postgres";
import type { Logger } from "../log/logger";
import { systemClock, type Clock } from "../realtime/transport";
import type { BusMessage, BusStatus, ClusterBus } from "./bus";

export const BUS_CHANNEL = "gridcast";
/** Bytes of one NOTIFY payload at most: PostgreSQL's limit is 8000, and this leaves it room. */
export const PAYLOAD_MAX = 7500;
/** Messages held while the store refuses NOTIFYs; past this the oldest are dropped (and counted). */
const QUEUE_MAX = 10_000;
/** A flood of bad notifications is logged once per this long, not once each. */
const WARN_EVERY_MS = 10_000;
const PING = "ping";

export interface PgBusDeps {
  self: string;
  databaseUrl: string;
  /** --cluster-flush-ms: how long a message waits for others to share its NOTIFY. */
  flushMs: number;
  /** --heartbeat-ms: how often the bus proves its LISTEN connection with a ping to itself. */
  heartbeatMs: number;
  logger: Logger;
  clock?: Clock;
  /** Tests: another channel, so buses of parallel tests never hear each other. */
  channel?: string;
}

/** The LISTEN connection's application_name (pg_stat_activity shows whose it is). */
export const listenAppName = (self: string) => `gridcast bus ${self}`.slice(0, 63);

type Sql = ReturnType<typeof postgres>;

const byteLength = (s: string) => Buffer.byteLength(s, "utf8");

export function createPgBus(deps: PgBusDeps): ClusterBus {
  const { flushMs, heartbeatMs, logger: log } = deps;
  // Read again at start: a daemon's default node id names its port, known once it listens.
  let self = "";
  const clock = deps.clock ?? systemClock;
  const channel = deps.channel ?? BUS_CHANNEL;
  const connect = (name: string): Sql => postgres(deps.databaseUrl, {
    max: 1, connect_timeout: 5, onnotice: () => {}, connection: { application_name: name },
  });
  // NOTIFYs go on a connection of their own, so a busy store pool never holds back the others' news.
  let notifier: Sql | undefined;
  let listener: Sql | undefined;
  const handlers = new Map<string, ((message: BusMessage, from: string) => void)[]>();
  const resyncHandlers: (() => void)[] = [];
  // Insertion order is send order; a keyed message replacing a queued one moves to the end (it is
  // the newest news), an unkeyed one gets a key nobody else has.
  let queue = new Map<string, BusMessage>();
  let unkeyed = 0;
  const counts = { sent: 0, notifications: 0, received: 0, dropped: 0, rejected: 0 };
  let listening = false;
  let since = clock.now();
  let error: string | undefined;
  let started = false;
  let stopped = false;
  let flushTimer: unknown;
  let beatTimer: unknown;
  let flushing: Promise<void> | undefined;
  let pingSeq = 0;
  /** When the oldest ping still not back was sent. */
  let awaitingSince: number | undefined;
  let lastRenewal = 0;
  let listens = 0;
  let resyncDue = false;

  const setListening = (value: boolean, why?: string) => {
    if (value) {
      if (listening) return;
      listening = true;
      error = undefined;
      since = clock.now();
      log.info("cluster bus listening");
      return;
    }
    // Said once per outage (the first reason), not at every heartbeat of it.
    const news = listening || error === undefined;
    if (listening) since = clock.now();
    listening = false;
    error = why;
    if (news) log.warn("cluster bus not listening: messages from other nodes may be missed until it is back", { error: why });
  };

  /** Each kind of warning at most once per WARN_EVERY_MS: a flood of junk or failures is one line. */
  const lastWarn = new Map<string, number>();
  const warnRarely = (message: string, fields: Record<string, unknown>) => {
    const now = clock.now();
    if (now - (lastWarn.get(message) ?? -Infinity) < WARN_EVERY_MS) return;
    lastWarn.set(message, now);
    log.warn(message, fields);
  };

  const runResync = () => {
    resyncDue = false;
    for (const fn of resyncHandlers) {
      try {
        fn();
      } catch (err) {
        log.error("a cluster bus resync handler failed", { error: err as Error });
      }
    }
  };

  const proven = () => {
    awaitingSince = undefined;
    setListening(true);
    if (resyncDue) runResync();
  };

  const reject = (why: string, payload: string) => {
    counts.rejected++;
    warnRarely("ignored a notification on the cluster channel that is not a gridcast message", { why, bytes: byteLength(payload), rejected: counts.rejected });
  };

  const onNotify = (payload: string) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return reject("not JSON", payload);
    }
    const env = parsed as { from?: unknown; m?: unknown } | null;
    if (env === null || typeof env !== "object" || typeof env.from !== "string" || !Array.isArray(env.m)) return reject("not {from, m: [...]}", payload);
    const from = env.from;
    for (const message of env.m as unknown[]) {
      if (message === null || typeof message !== "object" || Array.isArray(message) || typeof (message as BusMessage).t !== "string") {
        reject("a message without a type", payload);
        continue;
      }
      const m = message as BusMessage;
      if (from === self) {
        if (m.t === PING) proven();
        continue; // the node's own news: it has acted on it already
      }
      if (m.t === PING) continue;
      counts.received++;
      for (const fn of handlers.get(m.t) ?? []) {
        try {
          fn(m, from);
        } catch (err) {
          log.error("a cluster bus handler failed", { type: m.t, from, error: err as Error });
        }
      }
    }
  };

  /** The payloads of these messages, each under PAYLOAD_MAX; a message that cannot fit alone is dropped. */
  const pack = (messages: BusMessage[]): { payload: string; count: number }[] => {
    const head = `{"from":${JSON.stringify(self)},"m":[`;
    const tail = "]}";
    const overhead = byteLength(head) + byteLength(tail);
    const out: { payload: string; count: number }[] = [];
    let parts: string[] = [];
    let bytes = overhead;
    const close = () => {
      if (parts.length > 0) out.push({ payload: head + parts.join(",") + tail, count: parts.length });
      parts = [];
      bytes = overhead;
    };
    for (const m of messages) {
      let json: string;
      try {
        json = JSON.stringify(m);
      } catch (err) {
        counts.dropped++;
        log.warn("cluster bus message dropped: it is not JSON", { type: m.t, error: err as Error });
        continue;
      }
      const size = byteLength(json);
      if (overhead + size > PAYLOAD_MAX) {
        counts.dropped++;
        log.warn("cluster bus message dropped: too big for one NOTIFY", { type: m.t, bytes: size, limit: PAYLOAD_MAX, dropped: counts.dropped });
        continue;
      }
      if (bytes + size + (parts.length > 0 ? 1 : 0) > PAYLOAD_MAX) close();
      bytes += size + (parts.length > 0 ? 1 : 0);
      parts.push(json);
    }
    close();
    return out;
  };

  const notify = (sql: Sql, payload: string) => sql`select pg_notify(${channel}, ${payload})`;

  const flush = async (): Promise<void> => {
    flushTimer = undefined;
    if (queue.size === 0 || !notifier) return;
    const batch = [...queue.values()];
    queue = new Map();
    const payloads = pack(batch);
    const sql = notifier;
    // One connection runs them in order (postgres.js pipelines them): the others hear them in that order.
    const results = await Promise.allSettled(payloads.map((p) => notify(sql, p.payload)));
    const failed: BusMessage[] = [];
    results.forEach((r, i) => {
      if (r.status === "fulfilled") {
        counts.notifications++;
        counts.sent += payloads[i].count;
      } else {
        failed.push(...(JSON.parse(payloads[i].payload) as { m: BusMessage[] }).m);
        warnRarely("cluster bus NOTIFY failed; retrying", { error: String(r.reason) });
      }
    });
    if (failed.length > 0) {
      // Back at the front, behind nothing newer of the same key.
      const again = new Map<string, BusMessage>();
      for (const m of failed) again.set(`\u0000r${unkeyed++}`, m);
      for (const [k, m] of queue) again.set(k, m);
      queue = again;
      while (queue.size > QUEUE_MAX) {
        queue.delete(queue.keys().next().value!);
        counts.dropped++;
      }
      if (!stopped) flushTimer = clock.setTimeout(() => void runFlush(), Math.max(flushMs, heartbeatMs));
    }
  };

  const runFlush = (): Promise<void> => {
    // One flush at a time, so NOTIFYs leave in queue order.
    const previous = flushing ?? Promise.resolve();
    const next = previous.then(flush).catch((err) => log.error("cluster bus flush failed", { error: err as Error }));
    flushing = next.finally(() => {
      if (flushing === next) flushing = undefined;
    });
    return next;
  };

  const listen = async (): Promise<void> => {
    const sql = connect(listenAppName(self));
    listener = sql;
    lastRenewal = clock.now();
    await sql.listen(channel, onNotify, () => {
      // Called at each LISTEN, postgres.js's own re-listen after a dropped connection included:
      // anything sent meanwhile was missed. Prove the new connection at once, then resync.
      if (listens++ > 0) {
        resyncDue = true;
        ping();
      }
    });
  };

  /** Replaces the listen connection (the old one may be wedged in a failed re-listen). */
  const renew = async () => {
    const old = listener;
    listener = undefined;
    resyncDue = true;
    await old?.end({ timeout: 0 }).catch(() => {});
    if (stopped) return;
    try {
      await listen();
    } catch (err) {
      setListening(false, `LISTEN failed: ${(err as Error).message}`);
    }
  };

  function ping(): void {
    if (!notifier) return;
    awaitingSince ??= clock.now();
    notify(notifier, JSON.stringify({ from: self, m: [{ t: PING, n: ++pingSeq }] })).catch((err) => {
      warnRarely("cluster bus ping failed", { error: String(err) });
    });
  }

  const beat = () => {
    beatTimer = undefined;
    if (stopped) return;
    const now = clock.now();
    if (awaitingSince !== undefined && now - awaitingSince >= 2 * heartbeatMs) {
      setListening(false, `own ping not back within ${2 * heartbeatMs} ms (2 heartbeats)`);
      resyncDue = true;
      if (now - lastRenewal >= 2 * heartbeatMs) void renew();
    }
    ping();
    beatTimer = clock.setTimeout(beat, heartbeatMs);
  };

  return {
    get self() {
      return started ? self : deps.self;
    },
    send(message, key) {
      if (stopped) return;
      const k = key === undefined ? `\u0000${unkeyed++}` : key;
      queue.delete(k);
      queue.set(k, message);
      while (queue.size > QUEUE_MAX) {
        queue.delete(queue.keys().next().value!);
        counts.dropped++;
      }
      if (flushTimer === undefined && started) flushTimer = clock.setTimeout(() => void runFlush(), flushMs);
    },
    on(t, handler) {
      const list = handlers.get(t);
      if (list) list.push(handler);
      else handlers.set(t, [handler]);
    },
    onResync(handler) {
      resyncHandlers.push(handler);
    },
    status(): BusStatus {
      return { listening, ...counts, since: new Date(since).toISOString(), ...(error !== undefined && { error }) };
    },
    async start() {
      if (started) return;
      started = true;
      self = deps.self;
      notifier = connect(`gridcast notify ${self}`.slice(0, 63));
      try {
        await listen();
        // LISTEN ran on a live connection: listening from now (a /health at once is not degraded
        // for the round trip of the first ping), and the pings prove it goes on.
        setListening(true);
      } catch (err) {
        // The node runs on: the heartbeat keeps trying, and /health says so meanwhile.
        setListening(false, `LISTEN failed: ${(err as Error).message}`);
        resyncDue = true;
      }
      ping();
      beatTimer = clock.setTimeout(beat, heartbeatMs);
      if (queue.size > 0) flushTimer = clock.setTimeout(() => void runFlush(), flushMs);
    },
    async stop() {
      if (stopped) return;
      clock.clearTimeout(flushTimer);
      clock.clearTimeout(beatTimer);
      try {
        await runFlush();
      } catch {}
      stopped = true;
      clock.clearTimeout(flushTimer);
      const closing = [listener, notifier].map((sql) => sql?.end({ timeout: 1 }).catch(() => {}));
      listener = notifier = undefined;
      await Promise.all(closing);
      listening = false;
    },
  };
}
