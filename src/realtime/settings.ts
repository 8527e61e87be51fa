// The realtime settings with their defaults, checked once, and the global WebSocket options they
// imply (Elysia honours those only in `new Elysia({ websocket })`: PLATFORM.md).

export interface RealtimeSettings {
  /** Broadcast tick: at most one message per topic per tick (protocol.md). */
  tickMs: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Extra origins allowed to open sockets; same-origin and no-Origin requests always are. `*` allows all. */
  allowedOrigins: string[];
  metricsIntervalMs: number;
  maxTopicsPerConnection: number;
  /** Seconds without traffic before Bun closes a socket; Bun pings shortly before (sendPings). */
  idleTimeoutSec: number;
  /** Largest message a client may send; larger ones close the socket with 1009. */
  maxPayloadBytes: number;
  /** Bytes queued for one socket past which Bun drops further messages to it. */
  backpressureLimitBytes: number;
  /** A socket still backed up this long after a drop is closed with 1013 (see elysia.ts). */
  slowConsumerGraceMs: number;
  /** Finished job topics whose final state the hub keeps for late subscribers. */
  retainTerminalTopics: number;
}

export const REALTIME_DEFAULTS: Readonly<RealtimeSettings> = Object.freeze({
  tickMs: 50,
  maxConnections: 10_000,
  // One browser opens a handful of sockets; a load test from one machine must raise this.
  maxConnectionsPerIp: 1_000,
  allowedOrigins: [],
  metricsIntervalMs: 10_000,
  maxTopicsPerConnection: 100,
  idleTimeoutSec: 120,
  maxPayloadBytes: 16 * 1024,
  backpressureLimitBytes: 1024 * 1024,
  slowConsumerGraceMs: 10_000,
  retainTerminalTopics: 1_000,
});

export class RealtimeSettingsError extends Error {}

function positiveInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RealtimeSettingsError(`${name} must be an integer from ${min} to ${max} (got ${value})`);
  }
  return value;
}

/** Defaults filled in and every number range-checked; throws RealtimeSettingsError naming the field. */
export function resolveRealtimeSettings(input: Partial<RealtimeSettings> = {}): RealtimeSettings {
  const s: RealtimeSettings = { ...REALTIME_DEFAULTS, ...input, allowedOrigins: [...(input.allowedOrigins ?? [])] };
  positiveInt("tickMs", s.tickMs, 1, 60_000);
  positiveInt("maxConnections", s.maxConnections, 1, 1_000_000);
  positiveInt("maxConnectionsPerIp", s.maxConnectionsPerIp, 1, 1_000_000);
  positiveInt("metricsIntervalMs", s.metricsIntervalMs, 100, 3_600_000);
  positiveInt("maxTopicsPerConnection", s.maxTopicsPerConnection, 1, 100_000);
  positiveInt("idleTimeoutSec", s.idleTimeoutSec, 8, 960);
  positiveInt("maxPayloadBytes", s.maxPayloadBytes, 1024, 16 * 1024 * 1024);
  positiveInt("backpressureLimitBytes", s.backpressureLimitBytes, 16 * 1024, 1024 ** 3);
  positiveInt("slowConsumerGraceMs", s.slowConsumerGraceMs, 10, 3_600_000);
  positiveInt("retainTerminalTopics", s.retainTerminalTopics, 0, 1_000_000);
  s.allowedOrigins = normalizeOrigins(s.allowedOrigins);
  return s;
}

/** Origins as a browser sends them (lowercase, no trailing slash), `*` kept: what originAllowed compares. */
export function normalizeOrigins(origins: readonly string[]): string[] {
  return origins.map((o) => (o === "*" ? o : o.replace(/\/+$/, "").toLowerCase()));
}

export interface WebSocketOptions {
  idleTimeout: number;
  maxPayloadLength: number;
  backpressureLimit: number;
  closeOnBackpressureLimit: boolean;
  sendPings: boolean;
  perMessageDeflate: boolean;
}

/**
 * For `new Elysia({ websocket: websocketOptions(settings) })`.
 *
 * `closeOnBackpressureLimit` is false on purpose: Bun's own close is abrupt (the client sees 1006,
 * measured) and loses the chance to catch up. Instead Bun drops messages past the limit, the
 * binding re-sends the latest state of each topic on `drain` (the client skips to it, and sees the
 * gap in `seq`), and a socket still backed up `slowConsumerGraceMs` later is closed with 1013.
 */
export function websocketOptions(settings: RealtimeSettings): WebSocketOptions {
  return {
    idleTimeout: settings.idleTimeoutSec,
    maxPayloadLength: settings.maxPayloadBytes,
    backpressureLimit: settings.backpressureLimitBytes,
    closeOnBackpressureLimit: false,
    sendPings: true,
    // Progress messages are small and rendered once for many sockets: compression costs more CPU
    // per socket than it saves.
    perMessageDeflate: false,
  };
}
