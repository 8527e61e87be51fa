// Builds the /health report (protocol.md) from plain snapshots of each service.
import type { BreakerSnapshot } from "../db/breaker";
import type { DatabaseKind } from "../db/database";
import type { DiskReport } from "../db/disk";
import type { ClusterView } from "../cluster/registry";
import type { BusStatus } from "../cluster/bus";

export type DatabaseState = "opening" | "open" | "failed" | "closing" | "closed";

export interface HealthSources {
  /** `disk`: the data dir's free space, where gridcast owns the disk (PGlite). */
  /** `breaker`: the store's circuit breaker once the database is open (src/db/breaker.ts). */
  database: () => {
    kind: DatabaseKind; state: DatabaseState; error?: string; ping(): Promise<void>; disk?: () => DiskReport | undefined; breaker?: () => BreakerSnapshot | undefined;
  };
  workers: () => { healthy: boolean; size: number; busy: number; [k: string]: unknown };
  websocket: () => { activeConnections: number; totalConnectionsTracked: number; [k: string]: unknown };
  /** The nodes sharing the store (src/cluster/registry.ts): the last list read, `stale` when the store did not answer. */
  cluster?: () => ClusterView;
  /** The cluster bus (src/cluster/bus.ts): not listening means other nodes' news is not heard. */
  bus?: () => BusStatus;
}

export interface HealthReport {
  status: "ok" | "degraded";
  services: {
    database: { kind: DatabaseKind; healthy: boolean; state: DatabaseState; latency_ms?: number; error?: string; breaker?: BreakerSnapshot };
    workers: Record<string, unknown> & { healthy: boolean };
    websocket: { healthy: boolean; activeConnections: number; totalConnectionsTracked: number };
    /** Below its floor, writes are refused with 507 and the report is degraded. */
    disk?: DiskReport;
  };
  cluster?: ClusterView & { bus?: BusStatus };
}

const PING_TIMEOUT_MS = 2000;

export async function healthReport(sources: HealthSources): Promise<HealthReport> {
  const db = sources.database();
  const database: HealthReport["services"]["database"] = { kind: db.kind, healthy: false, state: db.state };
  if (db.error) database.error = db.error;
  const breaker = db.breaker?.();
  if (breaker) database.breaker = breaker;
  if (db.state === "open" && breaker?.state === "open") {
    // The breaker already knows: no ping to wait for, the report says so at once.
    database.error = `database unavailable (breaker open${breaker.last_error ? `: ${breaker.last_error}` : ""})`;
  } else if (db.state === "open") {
    const started = performance.now();
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        db.ping(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("ping timed out")), PING_TIMEOUT_MS); }),
      ]).finally(() => clearTimeout(timer));
      database.healthy = true;
      database.latency_ms = Math.round((performance.now() - started) * 100) / 100;
    } catch (err) {
      database.error = (err as Error).message;
    }
  }
  const workers = sources.workers();
  const ws = sources.websocket();
  const websocket = { ...ws, healthy: true };
  const disk = db.disk?.();
  const view = sources.cluster?.();
  const bus = sources.bus?.();
  const cluster = view && { ...view, ...(bus && { bus }) };
  // A bus that does not listen leaves this node up (its sockets, requests and jobs go on) but blind
  // to what the other nodes publish: degraded, with the reason in cluster.bus.error.
  const ok = database.healthy && workers.healthy && websocket.healthy && (disk?.healthy ?? true) && (bus?.listening ?? true);
  return { status: ok ? "ok" : "degraded", services: { database, workers, websocket, ...(disk && { disk }) }, ...(cluster && { cluster }) };
}
