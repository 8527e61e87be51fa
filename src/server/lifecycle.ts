// Starts the daemon (listen first, then open the database so /health answers 503 meanwhile)
// and stops it in order: sockets get server_shutdown and 1012, requests finish, the database closes.
import { hostname } from "node:os";
import { join } from "node:path";
import { createAccess, ensureAdmin, type Access } from "../access";
import { identityOf } from "../access/guard";
import { createRateLimits } from "../access/rate-limit";
import type { Identity } from "../access/roles";
import { LiveConfig, rebuiltOnChange } from "../config/live";
import type { Config } from "../config/resolve";
import { DatabaseUnavailable, type Database } from "../db/database";
import { DataDirInUse } from "../db/lock";
import { openDatabase } from "../db/open";
import { UpdateService } from "../games/update";
import { createApp, type App } from "../http/app";
import { serverBodyCap } from "../http/body";
import { mountRoutes } from "../http/routes";
import { createPageFragments, isLivePageTopic } from "../page-fragments";
import { createPool, type Pool } from "../compute/pool";
import { JobScheduler } from "../jobs/scheduler";
import { GameStoreCache } from "../jobs/stores";
import { isTerminal } from "../jobs/states";
import { createMemoryTrim } from "../ops/memory-trim";
import { workerUrl } from "../workers";
import type { Logger } from "../log/logger";
import {
  createHub, createLateTransport, createRegistry, defaultResolveTopic, mountRealtime, resolveRealtimeSettings,
  jobIdOf, jobTopic, UPDATE_TOPIC, websocketOptions, type Hub, type Realtime, type Resolution,
} from "../realtime";
import type { SocketIdentity } from "../realtime/registry";
import { normalizeOrigins, type RealtimeSettings } from "../realtime/settings";
import { DomainError } from "../errors";
import { systemClock, type Clock } from "../realtime/transport";
import { DatabaseSlot } from "./database-slot";
import { isLiveTopic, LiveFeed } from "../live/feed";
import { LiveService } from "../live/service";
import type { HealthSources } from "./health";
import { ALERTS_TOPIC, createAlerts, resolveAlertsTopic } from "../alerts";
import { createEventLoopLag } from "../ops/event-loop-lag";
import { createStoreProbe } from "../ops/store-probe";
import { createHistoryRecorder, type HistoryRecorder } from "../metrics-history/recorder";
import { ClusterJobs } from "../cluster/cluster-jobs";
import { advertisedHost, createClusterRegistry, defaultNodeId, NodeIdInUse, type ClusterRegistry } from "../cluster/registry";
import { soloBus, type ClusterBus } from "../cluster/bus";
import { createPgBus } from "../cluster/pg-bus";
import { createLiveBridge, type LiveBridge } from "../live/cluster-bridge";
import { bridgeAccess } from "../access/cluster-bridge";

export interface RunningServer {
  config: Config;
  /** The settings in force: `config` plus what reloads changed (src/server/reload.ts). */
  liveConfig: LiveConfig;
  app: App;
  url: string;
  port: number;
  database: DatabaseSlot;
  hub: Hub;
  realtime: Realtime;
  updates: UpdateService;
  scheduler: JobScheduler;
  pool: Pool;
  access: Access;
  live: LiveService;
  /** The performance history (README "Performance history and alerts"). */
  history: HistoryRecorder;
  /** The node registry (README "Several daemons (cluster)"). */
  cluster: ClusterRegistry;
  /** What crosses to the other nodes on PostgreSQL (LISTEN/NOTIFY); soloBus on PGlite. */
  bus: ClusterBus;
  /** Resolves once the database is open and migrated (rejects with a StartupError). */
  ready: Promise<void>;
  /** Graceful stop, bounded by `deadlineMs`; never rejects. */
  stop(deadlineMs?: number): Promise<void>;
}

/** A failure at start that is the user's setting, not a bug: exit code 2 with one line. */
export class StartupError extends Error {}

export interface ServeDeps {
  config: Config;
  /** What a reload updates (main's, which its logger reads too); one of its own over `config` when omitted. */
  liveConfig?: LiveConfig;
  logger: Logger;
  version: string;
  /** Injected in tests to hold the database back or swap the driver. */
  openDatabase?: (config: Config) => Promise<Database>;
  /** Time for access (token expiry, sessions, the sweep) and the rate limits; tests pass a fake one. */
  clock?: Clock;
  /** Where the first start's `admin login: ...` line goes (stdout: never the log). */
  print?: (line: string) => void;
}

/** What a socket records of the identity its upgrade was admitted as (the guard ran before the
 *  upgrade). Every socket route needs an identity, so none here is a guard bug: refuse it rather
 *  than let it stand as admin/pro (its tier decides what it is delivered and when). */
function socketIdentityOf(identity: Identity | null): SocketIdentity {
  if (!identity) throw new DomainError("unauthorized", "authentication required");
  return { role: identity.role, tier: identity.tier, token: identity.name, tokenId: identity.tokenId, sessionId: identity.sessionId ?? null };
}

export async function startServer(deps: ServeDeps): Promise<RunningServer> {
  const { config, logger } = deps;
  // Settings marked `live` in the table are read when used, through the getters on `inForce()`
  // below, so a reload reaches them; everything else keeps the value it was started with.
  const liveConfig = deps.liveConfig ?? new LiveConfig(config);
  const inForce = () => liveConfig.current;
  const clock = deps.clock ?? systemClock;
  const slot = new DatabaseSlot(config.databaseUrl ? "postgres" : "pglite");
  const access = createAccess({
    database: () => slot.get(), mode: config.auth, clock, sessionTtlMs: config.sessionTtlMs, logger: logger.child({ part: "access" }),
  });

  const origins = rebuiltOnChange(() => inForce().allowedOrigins, normalizeOrigins);
  const settings: RealtimeSettings = {
    ...resolveRealtimeSettings({
      tickMs: config.tickMs, maxConnections: config.maxConnections, maxConnectionsPerIp: config.maxConnectionsPerIp,
      allowedOrigins: config.allowedOrigins, metricsIntervalMs: config.metricsIntervalMs,
    }),
    get allowedOrigins() { return origins(); },
  };
  const transport = createLateTransport();
  const realtimeLog = logger.child({ part: "realtime" });

  // Memory goes back to the OS a second after an import or a job ends, and again once the pool has
  // been idle --compute-idle-ms (workers stopped, the kept game store dropped): README "Memory footprint".
  const trim = createMemoryTrim({ delayMs: 1000 });
  const stores = new GameStoreCache(() => slot.get());
  const pool = createPool({
    size: config.workers, workerUrl: workerUrl("compute"), logger: logger.child({ part: "compute" }),
    idleMs: config.computeIdleMs > 0 ? config.computeIdleMs : undefined,
    onIdle: () => {
      stores.drop();
      trim.soon();
    },
  });
  // Daemons sharing a PostgreSQL share their jobs (cluster.md) over the bus made below.
  const clusterJobs = slot.kind === "postgres"
    ? new ClusterJobs({
      database: () => slot.get(), bus: () => bus, clock, leaseMs: config.leaseMs, pollMs: config.heartbeatMs, pool, stores,
      logger: logger.child({ part: "cluster" }),
    })
    : undefined;
  // The scheduler publishes job snapshots to the hub, and the hub asks the scheduler what a job
  // topic holds: the scheduler is made first and reaches the hub only when a job changes.
  const scheduler = new JobScheduler({
    database: () => slot.get(),
    pool,
    stores,
    logger: logger.child({ part: "jobs" }),
    ...(clusterJobs ? { cluster: clusterJobs } : {}),
    publish: (id, snapshot, countedAt) => {
      hub.set(jobTopic(id), { ...snapshot }, countedAt);
      if (isTerminal(snapshot.status)) trim.soon();
    },
    maxRunning: config.maxRunningJobs,
    get maxQueued() { return inForce().maxQueuedJobs; },
    maxBufferedUnits: config.storeBufferUnits,
  });
  // A job topic resolves to the job's real state when this process knows it, else not_found; the
  // live topics to what the live feed knows (it is made just after the hub it publishes on).
  const resolveTopic = (topic: string): Resolution => {
    const id = jobIdOf(topic);
    const known = id === undefined ? undefined : scheduler.snapshot(id);
    if (known) return { ok: true, initial: { ...known } };
    return liveFeed.resolve(topic) ?? pages.resolve(topic) ?? resolveAlertsTopic(alerts, topic) ?? defaultResolveTopic(topic);
  };
  const hub = createHub({
    transport, clock, tickMs: settings.tickMs, logger: realtimeLog, retainTerminalTopics: settings.retainTerminalTopics, resolveTopic,
    // live.md "Tiers": starter identities get the live topics and the pages built on them late.
    delay: { tier: "starter", ms: config.starterDelayMs, applies: (topic) => isLiveTopic(topic) || isLivePageTopic(topic) },
    eventSnapshot: (topic, seq) => liveFeed.eventSnapshot(topic, seq),
    // protocol.md "History and recovery": in memory per event topic; signals also from the store.
    history: { size: config.historySize, ttlMs: config.historyTtlMs, maxBytes: config.historyMaxBytes },
    recoveryLimit: config.recoveryMaxMessages,
    storedHistory: (topic, afterSeq, limit, tier) => liveFeed.storedHistory(topic, afterSeq, limit, tier),
  });
  const liveFeed = new LiveFeed({
    hub, database: () => slot.get(), starterDelayMs: config.starterDelayMs, now: () => clock.now(), logger: realtimeLog,
  });
  // The bus reaches the other daemons on PostgreSQL; its node id is the registry's, known once
  // listening (a getter until then), and it starts when the database is open.
  const shared = slot.kind === "postgres";
  const nodeId = () => cluster.view().self;
  const bus: ClusterBus = shared
    ? createPgBus({
      get self() { return nodeId(); }, databaseUrl: config.databaseUrl!, flushMs: config.clusterFlushMs, heartbeatMs: config.heartbeatMs,
      clock, logger: logger.child({ part: "bus" }),
    })
    : { ...soloBus(""), get self() { return nodeId(); } };
  const liveBridge: LiveBridge | undefined = shared
    ? createLiveBridge({ feed: liveFeed, bus, database: () => slot.get(), logger: logger.child({ part: "live" }) })
    : undefined;
  const live = new LiveService({
    database: () => slot.get(), feed: liveFeed, publisher: liveBridge, starterDelayMs: config.starterDelayMs, now: () => clock.now(), log: logger.child({ part: "live" }),
  });
  const registry = createRegistry({
    get maxConnections() { return inForce().maxConnections; }, get maxConnectionsPerIp() { return inForce().maxConnectionsPerIp; },
    published: hub.published, logger: realtimeLog,
    latestSeq: hub.seqOfWire,
  });

  const updates = new UpdateService({
    database: () => slot.get(),
    inboxDir: join(config.dataDir, "inbox"),
    get limits() { return { maxBytes: config.maxImportBytes, maxGames: inForce().maxImportGames, maxTicksPerGame: inForce().maxGameTicks }; },
    logger: logger.child({ part: "update" }),
    publish: (status) => {
      hub.set(UPDATE_TOPIC, status as never);
      if (!status.is_running) trim.soon();
    },
  });
  hub.set(UPDATE_TOPIC, updates.status() as never);

  const workers = () => {
    const s = pool.stats();
    return { healthy: s.alive === s.size, size: s.size, alive: s.alive, parked: s.parked, busy: s.busy, restarts: s.restarts, ...scheduler.stats() };
  };

  // The node registry: stored on PostgreSQL, this node alone on PGlite. Its id defaults to the host
  // name and the port, known once listening (port 0 picks one), which is before anyone can ask.
  let listenPort = config.port;
  const cluster = createClusterRegistry({
    database: () => slot.get(), clock, shared: slot.kind === "postgres",
    self: {
      get id() { return config.nodeId ?? defaultNodeId(hostname(), listenPort); },
      host: advertisedHost(config.host), get port() { return listenPort; }, version: deps.version,
    },
    heartbeatMs: config.heartbeatMs, leaseMs: config.leaseMs,
    counts: () => { const s = pool.stats(); return { workers: s.size, busy: s.busy }; },
    logger: logger.child({ part: "cluster" }),
  });

  const health: HealthSources = {
    database: () => slot.snapshot(),
    workers,
    websocket: () => registry.health(),
    cluster: () => (clusterJobs ? { ...cluster.view(), jobs: clusterJobs.report() } : cluster.view()),
    bus: () => bus.status(),
  };
  // Event-loop lag all the time; the history's loop reads it with the other figures and checks the alerts.
  const eventLoop = createEventLoopLag({ clock });
  const thresholds = {
    eventLoopLagMs: config.alertEventLoopLagMs, publishP99Ms: config.alertPublishP99Ms, dropsPerSecond: config.alertDropsPerS,
    storeLatencyMs: config.alertStoreLatencyMs, rssBytes: config.alertRssBytes,
  };
  const alerts = createAlerts({
    thresholds,
    clearAfterMs: config.alertClearMs, clock, logger: logger.child({ part: "alerts" }),
    publish: (state) => hub.set(ALERTS_TOPIC, state),
  });
  hub.set(ALERTS_TOPIC, alerts.state());
  const app = createApp({ version: deps.version, logger, websocket: websocketOptions(settings) });
  const realtime = mountRealtime(app, {
    hub, registry, settings, transport, clock, logger: realtimeLog,
    collect: () => {
      const h = history.stats();
      return {
        jobs: scheduler.countsByState(), workers: workers(), eventLoop: eventLoop.figures(), alerts_active: alerts.active().length,
        history_rows_written: h.written, history_rows_skipped: h.skipped, history_write_errors: h.errors,
        // What holds the memory besides the JS heap (README "Memory footprint").
        memory_pglite_wasm_bytes: slot.snapshot().wasmMemoryBytes(), memory_game_store_bytes: stores.heldBytes(),
      };
    },
    identityOf: (request) => socketIdentityOf(identityOf(request)),
  });
  // A revoked or expired token's sockets close with 4001 (access.md), whichever process revoked it.
  access.onRevoked((tokenId) => realtime.sockets.closeToken(tokenId));
  // A logout closes the sockets its session opened, here and (through the bus) on the other nodes.
  access.onSessionEnded((sessionId) => realtime.sockets.closeSession(sessionId));
  bridgeAccess(access, bus, () => realtime.sockets.sessionIds(), logger.child({ part: "access" }));
  const history = createHistoryRecorder({
    clock, intervalMs: config.metricsHistoryIntervalMs, retentionMs: config.metricsRetentionMs, figures: () => realtime.metrics.figures(),
    database: () => slot.get(), store: createStoreProbe({ ping: () => slot.get().ping(), clock }), alerts, logger: logger.child({ part: "history" }),
  });
  const pages = createPageFragments({
    hub, database: () => slot.get(), scheduler, health, live, cluster: () => cluster.view(),
    opsHistory: () => ({ rows: history.recent(), intervalMs: history.intervalMs, thresholds, now: clock.now() }),
  });
  pages.attach(realtime);
  mountRoutes(app, {
    version: deps.version, database: () => slot.get(), health, cluster, updates, scheduler, realtime, pages, access, live, sessionTtlMs: config.sessionTtlMs,
    security: {
      get metricsPublic() { return inForce().metricsPublic; },
      listenHost: config.host,
      get allowedHosts() { return inForce().allowedHosts; },
      get allowedOrigins() { return inForce().allowedOrigins; },
      limits: createRateLimits({
        get login() { return inForce().rateLoginPerMin; },
        get jobs() { return inForce().rateJobsPerMin; },
        get imports() { return inForce().rateImportsPerMin; },
      }, () => clock.now()),
    },
    get maxPairs() { return inForce().maxPairs; }, maxImportBytes: config.maxImportBytes, bodyTimeoutMs: config.bodyTimeoutMs,
    metricsHistory: { intervalMs: config.metricsHistoryIntervalMs, retentionMs: config.metricsRetentionMs, now: () => clock.now() },
  });
  // Elysia asks Bun for SO_REUSEPORT unless told: a second daemon on this port would then share
  // it silently, the kernel handing each connection to one or the other. One port, one daemon.
  try {
    app.listen({ hostname: config.host, port: config.port, maxRequestBodySize: serverBodyCap(config.maxImportBytes), reusePort: false });
  } catch (err) {
    await pool.close();
    if ((err as { code?: string }).code === "EADDRINUSE") {
      throw new StartupError(`port ${config.port} on ${config.host} is in use (another gridcast daemon?): stop it, or start this one with another --port`);
    }
    throw err;
  }
  const server = app.server!;
  listenPort = server.port!;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;
  logger.info("listening", { url, database: slot.kind, auth: config.auth, node: cluster.view().self });

  const open = deps.openDatabase ?? ((c: Config) => openDatabase({ databaseUrl: c.databaseUrl, dataDir: c.dataDir, minFreeDiskBytes: c.minFreeDiskBytes,
    pgliteSharedBuffers: c.pgliteSharedBuffers, breaker: { failuresToOpen: c.storeFailuresToOpen, openMs: c.storeOpenMs, slowMs: c.storeSlowMs, timeoutMs: c.storeTimeoutMs } }));
  const started = performance.now();
  const ready = open(config).then(
    async (database) => {
      slot.opened(database);
      logger.info("database open", { kind: slot.kind, ms: Math.round(performance.now() - started) });
      // Joined before any work starts; a live daemon holding this node id refuses the start.
      await cluster.start().catch((err: unknown) => {
        throw err instanceof NodeIdInUse ? new StartupError(err.message) : err;
      });
      // Auth on and no admin yet: make one and print its login line once, on stdout only.
      const line = await ensureAdmin(access, `${url}/login`);
      if (line) (deps.print ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
      access.start();
      // Listening before the live feed reads the store, so nothing stored after that read is
      // missed; then what others stored meanwhile is published once.
      await bus.start();
      await liveFeed.load(database);
      await liveBridge?.sync();
      await scheduler.resume();
      history.start();
      trim.soon(); // what opening, migrating and loading left behind
    },
    (err: Error) => {
      slot.failed(err.message);
      if (err instanceof DatabaseUnavailable || err instanceof DataDirInUse) throw new StartupError(err.message);
      throw err;
    },
  );

  let stopping: Promise<void> | undefined;
  const stop = (deadlineMs = 4500) => {
    stopping ??= (async () => {
      const force = setTimeout(() => {
        logger.warn("shutdown deadline reached: closing open connections");
        void server.stop(true);
      }, deadlineMs);
      try {
        // Sockets first: browsers get server_shutdown and 1012, so they reconnect by themselves.
        access.stop();
        await history.stop();
        eventLoop.stop();
        await realtime.shutdown("server shutting down", Math.min(1000, deadlineMs / 4));
        await server.stop(false); // stop accepting; in-flight requests finish
        await live.close(); // replays stop after the batch in flight
        // Running jobs keep their state and saved units; closing the pool flushes the last batch.
        await scheduler.stop();
        await pool.close();
        trim.stop();
        hub.close();
        await ready.catch(() => {});
        await bus.stop(); // what is queued goes out first
        await cluster.stop(); // the others see this node leave at once
        await slot.close();
      } catch (err) {
        logger.error("error during shutdown", { error: err as Error });
      } finally {
        clearTimeout(force);
      }
    })();
    return stopping;
  };

  return { config, liveConfig, app, url, port: server.port!, database: slot, hub, realtime, updates, scheduler, pool, access, live, history, cluster, bus, ready, stop };
}
