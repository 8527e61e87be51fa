// GET /api/metrics/history?since=&until=&limit= (admin, ROUTE_ACCESS): the performance history's
// rows in a time range, oldest first, at most `limit`; `next_since` pages on when more are stored.
import { Elysia } from "elysia";
import { t } from "elysia";
import { doc, json } from "../openapi";
import { Int, MetricsHistory } from "./schemas";
import type { Database } from "../../db/database";
import { parseHistoryQuery } from "../../metrics-history/query";
import { readHistory } from "../../metrics-history/repository";
import { historyJson } from "../../metrics-history/sample";

export interface MetricsHistoryDeps {
  database: () => Database;
  now: () => number;
  /** --metrics-history-interval-ms (0: not recorded). */
  intervalMs: number;
  retentionMs: number;
}

export const metricsHistoryRoutes = (deps: MetricsHistoryDeps) =>
  new Elysia({ name: "metrics-history" }).get("/api/metrics/history", async ({ query, set }) => {
    const q = parseHistoryQuery(query as Record<string, string | undefined>, deps.now());
    // One more than asked tells whether the range holds more.
    const rows = await readHistory(deps.database(), q.since, q.until, q.limit + 1);
    const more = rows.length > q.limit;
    const shown = more ? rows.slice(0, q.limit) : rows;
    set.headers["cache-control"] = "no-store";
    return {
      since: new Date(q.since).toISOString(),
      until: new Date(q.until).toISOString(),
      interval_ms: deps.intervalMs,
      retention_ms: deps.retentionMs,
      count: shown.length,
      truncated: more,
      // The next row's time: ask again with since set to it (rows at one instant all come on one page unless > limit).
      ...(more && { next_since: new Date(rows[q.limit].at).toISOString() }),
      rows: shown.map(historyJson),
    };
  }, { detail: doc({
    summary: "The performance history's samples in a time range, oldest first", tag: "ops",
    query: { since: t.String({ description: "ISO time or epoch ms (default: an hour ago)" }), until: t.String({ description: "ISO time or epoch ms (default: now)" }), limit: Int({ minimum: 1 }) },
    responses: { 200: json(MetricsHistory), 422: "a bad since, until or limit" },
  }) });
