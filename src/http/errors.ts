// The one place a domain error becomes an HTTP status (Hono's HTTPException, Elysia's error codes):
// routes and services throw DomainError (src/errors.ts); the app's error handler asks this table.
import type { ErrorCode } from "../errors";

const STATUS: Record<ErrorCode, number> = {
  malformed: 400,
  invalid: 422,
  not_found: 404,
  wrong_state: 409,
  update_busy: 409,
  queue_full: 429,
  too_large: 413,
  unsupported_type: 415,
  body_timeout: 408,
  store_unavailable: 503,
  disk_full: 507,
  unauthorized: 401,
  forbidden: 403,
  misdirected: 421,
  rate_limited: 429,
  upgrade_required: 426,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}
