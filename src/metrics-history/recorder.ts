// The performance history's loop: every interval, one reading of the daemon's figures becomes a
// row (rates and p99s over the interval), the alert thresholds are checked against it, and the row
// is kept in memory for the ops page's last hour and written to the store. Writing is fire and
// forget: nothing waits for it, a write still out when the next row is due makes that row skip
// the store (so a slow store never piles writes up), and a store that is unavailable skips rows
// (counted) until it is back. Rows older than the retention are pruned now and then.
import type { Database } from "../db/database";
import type { Alerts } from "../alerts/thresholds";
import type { RealtimeFigures } from "../realtime/metrics";
import type { Clock } from "../realtime/transport";
import type { StoreProbe } from "../ops/store-probe";
import { insertHistoryRow, pruneHistory } from "./repository";
import { historyRow, type HistoryRow } from "./sample";

export interface HistoryLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface HistoryRecorderDeps {
  clock: Clock;
  /** 0: no loop at all (no rows, no alerts). */
  intervalMs: number;
  retentionMs: number;
  figures: () => RealtimeFigures;
  /** The open store, or a throw while it is unavailable (the slot's store_unavailable). */
  database: () => Database;
  store?: StoreProbe;
  alerts?: Alerts;
  logger: HistoryLogger;
  /** CPU used by this process so far, in microseconds (default process.cpuUsage()). */
  cpu?: () => number;
  /** How far back the in-memory rows reach (the ops page's charts; default one hour). */
  keepMs?: number;
}

export interface HistoryStats {
  rows: number;
  written: number;
  skipped: number;
  errors: number;
  pruned: number;
}

export interface HistoryRecorder {
  start(): void;
  /** One reading now (what the timer does); tests call it on an injected clock. */
  sample(): HistoryRow;
  /** The rows of the last `keepMs`, oldest first. */
  recent(): HistoryRow[];
  stats(): HistoryStats;
  readonly intervalMs: number;
  /** Resolves once the write (and prune) still out, if any, has settled. */
  settled(): Promise<void>;
  /** Stops the timer; resolves once a write still out has settled. */
  stop(): Promise<void>;
}

const defaultCpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

export function createHistoryRecorder(deps: HistoryRecorderDeps): HistoryRecorder {
  const { clock, intervalMs, logger } = deps;
  const cpu = deps.cpu ?? defaultCpu;
  const keepMs = deps.keepMs ?? 3_600_000;
  // Often enough that the table never holds much past its retention, rarely enough to cost nothing.
  const pruneEveryMs = Math.min(3_600_000, Math.max(intervalMs, deps.retentionMs / 10));
  const recent: HistoryRow[] = [];
  const stats: HistoryStats = { rows: 0, written: 0, skipped: 0, errors: 0, pruned: 0 };
  let previous: RealtimeFigures | null = null;
  let previousCpu = 0;
  let timer: unknown = null;
  let writing: Promise<void> | null = null;
  let lastPrune = -Infinity;
  let failing = false;
  let stopped = false;

  function write(row: HistoryRow): void {
    if (writing) {
      stats.skipped++;
      return;
    }
    let database: Database;
    try {
      database = deps.database();
    } catch {
      stats.skipped++; // unavailable: the breaker or the slot says so at once
      return;
    }
    const prune = row.at - lastPrune >= pruneEveryMs;
    if (prune) lastPrune = row.at;
    writing = (async () => {
      await insertHistoryRow(database, row);
      stats.written++;
      if (prune) stats.pruned += await pruneHistory(database, row.at - deps.retentionMs);
      if (failing) logger.info("metrics history writes again");
      failing = false;
    })().catch((error) => {
      stats.errors++;
      // One line per failing spell, not one per interval.
      if (!failing) logger.warn("metrics history write failed; rows are skipped until the store answers", { error: (error as Error)?.message ?? String(error) });
      failing = true;
    }).finally(() => {
      writing = null;
    });
  }

  function sample(): HistoryRow {
    const now = deps.figures();
    const used = cpu();
    const reading = deps.store?.reading();
    const base = historyRow({ now, previous, cpuMicros: previous ? used - previousCpu : 0, storeLatencyMs: reading?.failing ? null : reading?.latencyMs ?? null });
    const alerts = deps.alerts?.evaluate({
      eventLoopLagP99Ms: base.eventLoopLagP99Ms, publishP99Ms: base.publishP99Ms, dropsPerSecond: base.dropsPerSecond,
      storeLatencyMs: reading?.latencyMs ?? null, storeFailing: reading?.failing ?? false, rssBytes: base.rssBytes,
    }) ?? [];
    const row: HistoryRow = { ...base, alerts };
    deps.store?.probe(); // its answer is the next row's figure: nothing here waits for the store
    previous = now;
    previousCpu = used;
    stats.rows++;
    recent.push(row);
    while (recent.length && recent[0].at < row.at - keepMs) recent.shift();
    write(row);
    return row;
  }

  function tick(): void {
    timer = null;
    if (stopped) return;
    try {
      sample();
    } catch (error) {
      logger.warn("metrics history sample failed", { error: (error as Error)?.message ?? String(error) });
    }
    timer = clock.setTimeout(tick, intervalMs);
  }

  return {
    intervalMs,
    start() {
      if (intervalMs <= 0 || timer !== null || stopped) return;
      // The first reading is the baseline the first row's rates are taken from.
      previous = deps.figures();
      previousCpu = cpu();
      deps.store?.probe();
      timer = clock.setTimeout(tick, intervalMs);
    },
    sample,
    recent: () => [...recent],
    stats: () => ({ ...stats }),
    settled: async () => { await writing; },
    async stop() {
      stopped = true;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      await writing;
    },
  };
}
