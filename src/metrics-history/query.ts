// The parameters of GET /api/metrics/history: `since` and `until` as ISO 8601 times or unix
// milliseconds (default: the last hour), `limit` rows at most (default and cap MAX_ROWS).
import { invalid } from "../errors";

export const MAX_ROWS = 5000;
const HOUR_MS = 3_600_000;
/** Years 0001 to 9999 in unix ms: anything a timestamptz round-trips. */
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function instant(name: string, raw: string): number {
  const v = raw.trim();
  let ms: number;
  if (/^-?\d{1,16}$/.test(v)) ms = Number(v);
  else if (ISO.test(v)) ms = Date.parse(v);
  else throw invalid(`${name}: must be an ISO 8601 time (2026-01-31T12:00:00Z) or unix milliseconds`);
  if (!Number.isFinite(ms) || ms < MIN_MS || ms > MAX_MS) throw invalid(`${name}: not a time between the years 1 and 9999`);
  return ms;
}

export interface HistoryQuery {
  since: number;
  until: number;
  limit: number;
}

export function parseHistoryQuery(query: Record<string, string | undefined>, now: number): HistoryQuery {
  const until = query.until !== undefined ? instant("until", query.until) : now;
  const since = query.since !== undefined ? instant("since", query.since) : until - HOUR_MS;
  if (since > until) throw invalid("since: must not be after until");
  let limit = MAX_ROWS;
  if (query.limit !== undefined) {
    if (!/^\d{1,6}$/.test(query.limit) || Number(query.limit) < 1 || Number(query.limit) > MAX_ROWS) {
      throw invalid(`limit: must be an integer from 1 to ${MAX_ROWS}`);
    }
    limit = Number(query.limit);
  }
  return { since, until, limit };
}
