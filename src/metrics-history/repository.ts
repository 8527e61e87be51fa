// The metrics_history table: write one row, prune old ones, read a time range in order.
import { and, asc, gte, lt, lte } from "drizzle-orm";
import type { Database } from "../db/database";
import { metricsHistory } from "../db/schema";
import type { ActiveAlert } from "../alerts/thresholds";
import type { HistoryRow } from "./sample";

export async function insertHistoryRow(database: Database, r: HistoryRow): Promise<void> {
  await database.db.insert(metricsHistory).values({
    at: new Date(r.at), intervalMs: r.intervalMs, connections: r.connections, messagesPerSecond: r.messagesPerSecond,
    bytesPerSecond: r.bytesPerSecond, drops: r.drops, dropsPerSecond: r.dropsPerSecond, publishP99Ms: r.publishP99Ms,
    dataAgeP99Ms: r.dataAgeP99Ms, eventLoopLagP99Ms: r.eventLoopLagP99Ms, storeLatencyMs: r.storeLatencyMs, jobs: r.jobs,
    busyWorkers: r.busyWorkers, rssBytes: r.rssBytes, cpuPercent: r.cpuPercent, alerts: r.alerts,
  });
}

/** Deletes the rows older than `before` (unix ms); returns how many. */
export async function pruneHistory(database: Database, before: number): Promise<number> {
  const gone = await database.db.delete(metricsHistory).where(lt(metricsHistory.at, new Date(before))).returning({ id: metricsHistory.id });
  return gone.length;
}

/** Rows with since <= at <= until, oldest first, at most `limit`. */
export async function readHistory(database: Database, since: number, until: number, limit: number): Promise<HistoryRow[]> {
  const rows = await database.db.select().from(metricsHistory)
    .where(and(gte(metricsHistory.at, new Date(since)), lte(metricsHistory.at, new Date(until))))
    .orderBy(asc(metricsHistory.at), asc(metricsHistory.id)).limit(limit);
  return rows.map((r) => ({
    at: r.at.getTime(), intervalMs: r.intervalMs, connections: r.connections, messagesPerSecond: r.messagesPerSecond,
    bytesPerSecond: r.bytesPerSecond, drops: r.drops, dropsPerSecond: r.dropsPerSecond, publishP99Ms: r.publishP99Ms,
    dataAgeP99Ms: r.dataAgeP99Ms, eventLoopLagP99Ms: r.eventLoopLagP99Ms, storeLatencyMs: r.storeLatencyMs,
    jobs: r.jobs as Record<string, number>, busyWorkers: r.busyWorkers, rssBytes: r.rssBytes, cpuPercent: r.cpuPercent,
    alerts: r.alerts as ActiveAlert[],
  }));
}
