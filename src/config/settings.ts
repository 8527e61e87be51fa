// Every setting gridcast reads: its flag, environment variable, default and meaning, in one table.
// The CLI help, the README table and the resolver all read this list, so they cannot drift apart.
import { availableParallelism } from "node:os";

export type Parse<T> = (raw: string) => T;

export interface SettingDef<T = unknown> {
  key: string;
  flag: string;
  env: string;
  /** Default as shown to people; `undefined` means "not set". */
  defaultText: string;
  default: () => T;
  doc: string;
  parse: Parse<T>;
  /** Commands that read this setting (all when omitted). */
  commands?: string[];
  /** A running daemon takes a new value on SIGHUP without a restart (README "Install as a service"); the rest wait for one. */
  live?: boolean;
}

class SettingValueError extends Error {}

export function invalid(message: string): never {
  throw new SettingValueError(message);
}
export { SettingValueError };

export const integer = (min: number, max: number): Parse<number> => (raw) => {
  if (!/^\s*-?\d+\s*$/.test(raw)) invalid(`must be an integer from ${min} to ${max}`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) invalid(`must be an integer from ${min} to ${max}`);
  return n;
};

export const oneOf = <T extends string>(...values: T[]): Parse<T> => (raw) => {
  if (!(values as string[]).includes(raw)) invalid(`must be one of ${values.join(", ")}`);
  return raw as T;
};

const text: Parse<string> = (raw) => {
  if (raw.trim() === "") invalid("must not be empty");
  return raw;
};

const list: Parse<string[]> = (raw) => raw.split(",").map((s) => s.trim()).filter(Boolean);

const bytes: Parse<number> = (raw) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(raw);
  if (!m) invalid('must be a size such as 500MB, 64KiB or 1048576');
  const unit = (m[2] ?? "b").toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  return Math.floor(Number(m[1]) * mult[unit]);
};

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as 30d, 12h, 90m or 45s, in milliseconds, from `min` to `max`. */
export const duration = (min: number, max: number): Parse<number> => (raw) => {
  const m = /^\s*(\d{1,9})\s*(s|m|h|d)\s*$/i.exec(raw);
  if (!m) invalid("must be a duration such as 30d, 12h, 90m or 45s");
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  if (ms < min || ms > max) invalid(`must be from ${formatDuration(min)} to ${formatDuration(max)}`);
  return ms;
};

export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"]) if (ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  return `${ms}ms`;
}

const onOff: Parse<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (["on", "true", "yes", "1"].includes(v)) return true;
  if (["off", "false", "no", "0"].includes(v)) return false;
  return invalid("must be on or off");
};

/** Why `id` cannot name a node, or null: what the hostname-like rule allows, so it reads plainly in
 *  logs, /health and the ops page and needs no escaping anywhere. */
export function nodeIdProblem(id: string): string | null {
  if (id.length === 0) return "must not be empty";
  if (id.length > 128) return "must be at most 128 characters";
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(id)) return "must start with a letter or digit and hold only letters, digits and . _ : -";
  return null;
}

const cores = () => Math.max(1, availableParallelism());

function def<T>(d: SettingDef<T>): SettingDef<T> {
  return d;
}

export const SETTINGS = {
  host: def({ key: "host", flag: "--host", env: "GRIDCAST_HOST", defaultText: "127.0.0.1", default: () => "127.0.0.1",
    doc: "Address the HTTP and WebSocket server listens on.", parse: text, commands: ["serve"] }),
  port: def({ key: "port", flag: "--port", env: "GRIDCAST_PORT", defaultText: "3000", default: () => 3000,
    doc: "TCP port (0 picks a free one and logs it).", parse: integer(0, 65535), commands: ["serve"] }),
  dataDir: def({ key: "dataDir", flag: "--data-dir", env: "GRIDCAST_DATA_DIR", defaultText: "./.gridcast", default: () => "./.gridcast",
    doc: "Folder for the embedded database and the import inbox; created if missing.", parse: text }),
  settingsFile: def<string | undefined>({ key: "settingsFile", flag: "--settings-file", env: "GRIDCAST_SETTINGS_FILE", defaultText: "(unset: none)",
    default: () => undefined, doc: "File of KEY=VALUE lines (the variables of this table) read at start and again on SIGHUP; a flag or a variable wins over it.", parse: text }),
  databaseUrl: def<string | undefined>({ key: "databaseUrl", flag: "--database-url", env: "DATABASE_URL", defaultText: "(unset: embedded PGlite)",
    default: () => undefined, doc: "PostgreSQL URL (postgres://user:pass@host:port/db); when set, PostgreSQL is used instead of PGlite.", parse: text }),
  storeFailuresToOpen: def({ key: "storeFailuresToOpen", flag: "--store-failures-to-open", env: "GRIDCAST_STORE_FAILURES_TO_OPEN", defaultText: "3",
    default: () => 3, doc: "Store faults in a row (refused or dropped connections, timeouts, slow answers) that open the circuit breaker: then every request that needs the database answers 503 with Retry-After at once.",
    parse: integer(1, 1000) }),
  storeOpenMs: def({ key: "storeOpenMs", flag: "--store-open-ms", env: "GRIDCAST_STORE_OPEN_MS", defaultText: "5000",
    default: () => 5000, doc: "How long the breaker stays open before one probe tries the database again (what Retry-After says).",
    parse: integer(100, 600_000) }),
  storeSlowMs: def({ key: "storeSlowMs", flag: "--store-slow-ms", env: "GRIDCAST_STORE_SLOW_MS", defaultText: "2000",
    default: () => 2000, doc: "A database call that answers but takes longer than this counts as a fault (the store is too slow).",
    parse: integer(1, 600_000) }),
  storeTimeoutMs: def({ key: "storeTimeoutMs", flag: "--store-timeout-ms", env: "GRIDCAST_STORE_TIMEOUT_MS", defaultText: "5000",
    default: () => 5000, doc: "Most time one database statement (or a transaction's BEGIN or COMMIT) may take; over it the caller gets 503 and it counts as a fault.",
    parse: integer(10, 600_000) }),
  // Several daemons on one PostgreSQL (README "Several daemons (cluster)"): the node registry.
  nodeId: def<string | undefined>({ key: "nodeId", flag: "--node-id", env: "GRIDCAST_NODE_ID", defaultText: "(host name:port)",
    default: () => undefined, doc: "This daemon's name among the daemons sharing one PostgreSQL: letters, digits and . _ : - (at most 128); a second daemon with the same id is refused while the first lives.",
    parse: (raw) => nodeIdProblem(raw) === null ? raw : invalid(nodeIdProblem(raw)!), commands: ["serve"] }),
  heartbeatMs: def({ key: "heartbeatMs", flag: "--heartbeat-ms", env: "GRIDCAST_HEARTBEAT_MS", defaultText: "2000",
    default: () => 2000, doc: "How often a daemon on PostgreSQL tells the others it lives (its row in the node registry), and proves its cluster bus still listens (a ping to itself).", parse: integer(10, 600_000), commands: ["serve"] }),
  leaseMs: def({ key: "leaseMs", flag: "--lease-ms", env: "GRIDCAST_LEASE_MS", defaultText: "10000",
    default: () => 10_000, doc: "A daemon whose last heartbeat is older than this is gone: it drops out of the cluster and its node id may be taken. More than twice --heartbeat-ms.",
    parse: integer(50, 3_600_000), commands: ["serve"] }),
  clusterFlushMs: def({ key: "clusterFlushMs", flag: "--cluster-flush-ms", env: "GRIDCAST_CLUSTER_FLUSH_MS", defaultText: "50",
    default: () => 50, doc: "How long a message for the other daemons on PostgreSQL waits for others to share its NOTIFY: a busy node sends a few notifications per this long, not one per change.",
    parse: integer(1, 10_000), commands: ["serve"] }),
  storeBufferUnits: def({ key: "storeBufferUnits", flag: "--store-buffer-units", env: "GRIDCAST_STORE_BUFFER_UNITS", defaultText: "1024",
    default: () => 1024, doc: "Finished job units held in memory while the database cannot take them; at this many the workers pause (nothing is dropped) until it is back.",
    parse: integer(1, 10_000_000), commands: ["serve"] }),
  workers: def({ key: "workers", flag: "--workers", env: "GRIDCAST_WORKERS", defaultText: "number of cores", default: cores,
    doc: "Compute worker threads.", parse: integer(1, 256), commands: ["serve"] }),
  computeIdleMs: def({ key: "computeIdleMs", flag: "--compute-idle-ms", env: "GRIDCAST_COMPUTE_IDLE_MS", defaultText: "30000",
    default: () => 30_000, doc: "After this long with no job running, the compute workers stop and the games kept for the next job are dropped, giving their memory back; the next job starts them again and loads its games from the database again. 0: never.",
    parse: integer(0, 86_400_000), commands: ["serve"] }),
  logFormat: def({ key: "logFormat", flag: "--log-format", env: "GRIDCAST_LOG_FORMAT", defaultText: "text", default: () => "text" as const,
    doc: "Log lines as `text` (for people) or `json` (one object a line, for machines).", parse: oneOf("text", "json"), live: true }),
  logLevel: def({ key: "logLevel", flag: "--log-level", env: "GRIDCAST_LOG_LEVEL", defaultText: "info", default: () => "info" as const,
    doc: "Least severe level logged: debug, info, warn or error.", parse: oneOf("debug", "info", "warn", "error"), live: true }),
  allowedOrigins: def({ key: "allowedOrigins", flag: "--allowed-origins", env: "GRIDCAST_ALLOWED_ORIGINS", defaultText: "(same origin only)",
    default: () => [] as string[], doc: "Comma-separated extra origins allowed to open WebSockets.", parse: list, commands: ["serve"], live: true }),
  maxImportBytes: def({ key: "maxImportBytes", flag: "--max-import-bytes", env: "GRIDCAST_MAX_IMPORT_BYTES", defaultText: "1GiB",
    default: () => 1024 ** 3, doc: "Largest games file accepted by an import (413 above).", parse: bytes }),
  maxImportGames: def({ key: "maxImportGames", flag: "--max-import-games", env: "GRIDCAST_MAX_IMPORT_GAMES", defaultText: "100000",
    default: () => 100_000, doc: "Most games in one imported file (413 above).", parse: integer(1, 10_000_000), live: true }),
  bodyTimeoutMs: def({ key: "bodyTimeoutMs", flag: "--body-timeout-ms", env: "GRIDCAST_BODY_TIMEOUT_MS", defaultText: "30000",
    default: () => 30_000, doc: "Most time, in all, an import's request body may keep the server waiting for its bytes (408 and the upload dropped above).",
    parse: integer(100, 86_400_000), commands: ["serve"] }),
  maxGameTicks: def({ key: "maxGameTicks", flag: "--max-game-ticks", env: "GRIDCAST_MAX_GAME_TICKS", defaultText: "1000000",
    default: () => 1_000_000, doc: "Most ticks in one game (413 above).", parse: integer(1, 100_000_000), live: true }),
  minFreeDiskBytes: def({ key: "minFreeDiskBytes", flag: "--min-free-disk-bytes", env: "GRIDCAST_MIN_FREE_DISK_BYTES", defaultText: "64MiB",
    default: () => 64 * 1024 ** 2, doc: "Free space kept on the data dir's disk (and the temporary files'): an import that would leave less is refused (507), any database write under half of it; /health is degraded below it. At least 48MiB.",
    parse: (raw) => {
      const n = bytes(raw); // half of it must hold a 16 MiB WAL segment (src/db/disk.ts)
      return n >= 48 * 1024 ** 2 ? n : invalid("must be at least 48MiB");
    } }),
  pgliteSharedBuffers: def({ key: "pgliteSharedBuffers", flag: "--pglite-shared-buffers", env: "GRIDCAST_PGLITE_SHARED_BUFFERS", defaultText: "8MiB",
    default: () => 8 * 1024 ** 2, doc: "Shared buffers of the embedded PGlite (PostgreSQL's page cache, resident in the daemon's memory from the start). Its files are read through the OS page cache as well, so more rarely speeds anything up. From 128KiB to 1GiB; unused with DATABASE_URL.",
    parse: (raw) => {
      const n = bytes(raw);
      return n >= 128 * 1024 && n <= 1024 ** 3 ? n : invalid("must be from 128KiB to 1GiB");
    }, commands: ["serve"] }),
  maxPairs: def({ key: "maxPairs", flag: "--max-pairs", env: "GRIDCAST_MAX_PAIRS", defaultText: "1000000",
    default: () => 1_000_000, doc: "Most (entry, exit) pairs in one grid search (422 above).", parse: integer(1, 100_000_000), commands: ["serve"], live: true }),
  maxRunningJobs: def({ key: "maxRunningJobs", flag: "--max-running-jobs", env: "GRIDCAST_MAX_RUNNING_JOBS", defaultText: "4",
    default: () => 4, doc: "Jobs running at once; they share the workers fairly, the rest wait queued.", parse: integer(1, 1000), commands: ["serve"] }),
  maxQueuedJobs: def({ key: "maxQueuedJobs", flag: "--max-queued-jobs", env: "GRIDCAST_MAX_QUEUED_JOBS", defaultText: "100",
    default: () => 100, doc: "Jobs waiting at once (429 above).", parse: integer(0, 100_000), commands: ["serve"], live: true }),
  tickMs: def({ key: "tickMs", flag: "--tick-ms", env: "GRIDCAST_TICK_MS", defaultText: "50",
    default: () => 50, doc: "Broadcast tick: at most one message per topic per tick.", parse: integer(1, 60_000), commands: ["serve"] }),
  starterDelayMs: def({ key: "starterDelayMs", flag: "--starter-delay-ms", env: "GRIDCAST_STARTER_DELAY_MS", defaultText: "15000",
    default: () => 15_000, doc: "How late a `starter` identity gets live games and signals, on sockets and over HTTP (live.md \"Tiers\"); 0: as they happen.",
    parse: integer(0, 86_400_000), commands: ["serve"] }),
  historySize: def({ key: "historySize", flag: "--history-size", env: "GRIDCAST_HISTORY_SIZE", defaultText: "1000",
    default: () => 1000, doc: "Messages kept per in-memory event topic (live:{game}, signals) for clients that resubscribe with `since` (protocol.md); 0 keeps none.",
    parse: integer(0, 1_000_000), commands: ["serve"] }),
  historyTtlMs: def({ key: "historyTtlMs", flag: "--history-ttl-ms", env: "GRIDCAST_HISTORY_TTL_MS", defaultText: "300000",
    default: () => 300_000, doc: "How long those messages are kept.", parse: integer(1000, 86_400_000), commands: ["serve"] }),
  historyMaxBytes: def({ key: "historyMaxBytes", flag: "--history-max-bytes", env: "GRIDCAST_HISTORY_MAX_BYTES", defaultText: "256MiB",
    default: () => 256 * 1024 ** 2, doc: "All topics' kept messages together at most this much memory (a topic over it loses its oldest first; 1000 messages on 1,000 busy topics take about 130 MB).", parse: bytes, commands: ["serve"] }),
  recoveryMaxMessages: def({ key: "recoveryMaxMessages", flag: "--recovery-max-messages", env: "GRIDCAST_RECOVERY_MAX_MESSAGES", defaultText: "1000",
    default: () => 1000, doc: "Most messages replayed to one resubscribing client; further behind, it is told `recovered: false` and reloads over HTTP.",
    parse: integer(1, 100_000), commands: ["serve"] }),
  maxConnections: def({ key: "maxConnections", flag: "--max-connections", env: "GRIDCAST_MAX_CONNECTIONS", defaultText: "10000",
    default: () => 10_000, doc: "WebSocket connections allowed at once (over it: close 1013).", parse: integer(1, 1_000_000), commands: ["serve"], live: true }),
  maxConnectionsPerIp: def({ key: "maxConnectionsPerIp", flag: "--max-connections-per-ip", env: "GRIDCAST_MAX_CONNECTIONS_PER_IP", defaultText: "1000",
    default: () => 1_000, doc: "WebSocket connections allowed from one address.", parse: integer(1, 1_000_000), commands: ["serve"], live: true }),
  metricsIntervalMs: def({ key: "metricsIntervalMs", flag: "--metrics-interval-ms", env: "GRIDCAST_METRICS_INTERVAL_MS", defaultText: "10000",
    default: () => 10_000, doc: "Period of `metrics_update` on the metrics topic (only while someone subscribes).", parse: integer(100, 3_600_000), commands: ["serve"] }),
  auth: def<"on" | "off" | undefined>({ key: "auth", flag: "--auth", env: "GRIDCAST_AUTH", defaultText: "off on a loopback --host, else on",
    default: () => undefined, doc: "`on`: every request but /health, /login and static files needs a token or a session; `off`: every request acts as admin (access.md).",
    parse: oneOf("on", "off"), commands: ["serve"] }),
  sessionTtlMs: def({ key: "sessionTtlMs", flag: "--session-ttl", env: "GRIDCAST_SESSION_TTL", defaultText: "7d",
    default: () => 7 * 86_400_000, doc: "Lifetime of a browser session made at /login (such as 30d, 12h, 90m).",
    parse: duration(60_000, 366 * 86_400_000), commands: ["serve"] }),
  allowedHosts: def({ key: "allowedHosts", flag: "--allowed-hosts", env: "GRIDCAST_ALLOWED_HOSTS", defaultText: "(loopback names and the listen address)",
    default: () => [] as string[], doc: "Comma-separated extra `Host` names the server answers to (others get 421, against DNS rebinding).",
    parse: (raw) => list(raw).map((h) => h.toLowerCase()), commands: ["serve"], live: true }),
  rateLoginPerMin: def({ key: "rateLoginPerMin", flag: "--rate-login-per-min", env: "GRIDCAST_RATE_LOGIN_PER_MIN", defaultText: "10",
    default: () => 10, doc: "Login attempts per minute per address (429 with Retry-After above).", parse: integer(1, 1_000_000), commands: ["serve"], live: true }),
  rateJobsPerMin: def({ key: "rateJobsPerMin", flag: "--rate-jobs-per-min", env: "GRIDCAST_RATE_JOBS_PER_MIN", defaultText: "60",
    default: () => 60, doc: "Job submissions per minute per identity (per address when anonymous).", parse: integer(1, 1_000_000), commands: ["serve"], live: true }),
  rateImportsPerMin: def({ key: "rateImportsPerMin", flag: "--rate-imports-per-min", env: "GRIDCAST_RATE_IMPORTS_PER_MIN", defaultText: "10",
    default: () => 10, doc: "Imports and demo loads per minute per identity (per address when anonymous).", parse: integer(1, 1_000_000), commands: ["serve"], live: true }),
  metricsPublic: def({ key: "metricsPublic", flag: "--metrics-public", env: "GRIDCAST_METRICS_PUBLIC", defaultText: "off",
    default: () => false, doc: "`on` lets /metrics be scraped without an identity; `off` keeps it to admins.", parse: onOff, commands: ["serve"], live: true }),
  // Performance history and alerts (README "Performance history and alerts"): one row of the daemon's figures per interval.
  metricsHistoryIntervalMs: def({ key: "metricsHistoryIntervalMs", flag: "--metrics-history-interval-ms", env: "GRIDCAST_METRICS_HISTORY_INTERVAL_MS", defaultText: "10000",
    default: () => 10_000, doc: "Period of the performance history: one row of the daemon's figures goes to the store, and the alert thresholds are checked; 0 turns both off.",
    parse: (raw) => {
      const n = integer(0, 86_400_000)(raw);
      return n === 0 || n >= 100 ? n : invalid("must be 0 (off) or from 100 to 86400000");
    }, commands: ["serve"] }),
  metricsRetentionMs: def({ key: "metricsRetentionMs", flag: "--metrics-retention", env: "GRIDCAST_METRICS_RETENTION", defaultText: "7d",
    default: () => 7 * 86_400_000, doc: "How long performance history rows (and the alerts stored with them) are kept before they are pruned (such as 7d, 12h).",
    parse: duration(60_000, 3660 * 86_400_000), commands: ["serve"] }),
  alertEventLoopLagMs: def({ key: "alertEventLoopLagMs", flag: "--alert-event-loop-lag-ms", env: "GRIDCAST_ALERT_EVENT_LOOP_LAG_MS", defaultText: "200",
    default: () => 200, doc: "Alert when the event loop's lag p99 is above this many ms; 0: never.", parse: integer(0, 3_600_000), commands: ["serve"] }),
  alertPublishP99Ms: def({ key: "alertPublishP99Ms", flag: "--alert-publish-p99-ms", env: "GRIDCAST_ALERT_PUBLISH_P99_MS", defaultText: "1000",
    default: () => 1000, doc: "Alert when the publish latency p99 over an interval is above this many ms; 0: never.", parse: integer(0, 3_600_000), commands: ["serve"] }),
  alertDropsPerS: def({ key: "alertDropsPerS", flag: "--alert-drops-per-s", env: "GRIDCAST_ALERT_DROPS_PER_S", defaultText: "10",
    default: () => 10, doc: "Alert when messages dropped for slow subscribers exceed this many per second over an interval; 0: never.", parse: integer(0, 1_000_000_000), commands: ["serve"] }),
  alertStoreLatencyMs: def({ key: "alertStoreLatencyMs", flag: "--alert-store-latency-ms", env: "GRIDCAST_ALERT_STORE_LATENCY_MS", defaultText: "500",
    default: () => 500, doc: "Alert when the store's round trip takes longer than this many ms, or fails; 0: never.", parse: integer(0, 3_600_000), commands: ["serve"] }),
  alertRssBytes: def({ key: "alertRssBytes", flag: "--alert-rss-bytes", env: "GRIDCAST_ALERT_RSS_BYTES", defaultText: "2GiB",
    default: () => 2 * 1024 ** 3, doc: "Alert when the process's resident memory is above this; 0: never.", parse: bytes, commands: ["serve"] }),
  alertClearMs: def({ key: "alertClearMs", flag: "--alert-clear-ms", env: "GRIDCAST_ALERT_CLEAR_MS", defaultText: "60000",
    default: () => 60_000, doc: "An alert clears once its figure has stayed at or under the threshold this long (hysteresis: no flapping).",
    parse: integer(0, 86_400_000), commands: ["serve"] }),
} as const;

export type SettingKey = keyof typeof SETTINGS;
