// Domain errors: what went wrong, as a code a program can branch on and a message a person can
// act on. Code below the HTTP layer (imports, jobs, the store, the realtime binding) throws these
// and never knows about HTTP; src/http/errors.ts maps each code to a status, once.

export type ErrorCode =
  /** The request could not be read at all (malformed JSON or multipart, truncated body). */
  | "malformed"
  /** Well-formed but breaks a rule (a field, an id, a line of a file). */
  | "invalid"
  | "not_found"
  /** The thing exists but is in a state that does not allow this (a finished job, ...). */
  | "wrong_state"
  /** Another data update is running. */
  | "update_busy"
  /** The job queue is full. */
  | "queue_full"
  /** A body, file, line or count over its limit. */
  | "too_large"
  | "unsupported_type"
  /** The client took longer than the body timeout to send its request. */
  | "body_timeout"
  /** The store is opening, failed, or not answering. */
  | "store_unavailable"
  /** The disk under the data dir (or a temporary file) is full. */
  | "disk_full"
  /** No identity where one is needed, or one that is unknown, revoked or expired (access.md). */
  | "unauthorized"
  /** An identity whose role is too low, or a cross-site change (access.md). */
  | "forbidden"
  /** A Host the server does not answer to (DNS rebinding, access.md). */
  | "misdirected"
  /** Over a rate limit; `extra.retry_after` says in how many seconds to try again. */
  | "rate_limited"
  /** A plain request on a WebSocket path. */
  | "upgrade_required";

export class DomainError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    /** Extra JSON fields for API clients (e.g. `status` of a job on a 409). */
    public readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const malformed = (message: string) => new DomainError("malformed", message);
export const invalid = (message: string) => new DomainError("invalid", message);
export const notFound = (message = "Not found") => new DomainError("not_found", message);
export const wrongState = (message: string, extra?: Record<string, unknown>) => new DomainError("wrong_state", message, extra);
export const tooLarge = (message: string) => new DomainError("too_large", message);
export const unsupportedType = (message: string) => new DomainError("unsupported_type", message);
/** The store cannot answer now; `retry_after` (seconds) goes out as the Retry-After header too. */
export const storeUnavailable = (message: string, retryAfter = 1) => new DomainError("store_unavailable", message, { retry_after: retryAfter });

/** ENOSPC (and its quota twin EDQUOT) anywhere below: the disk is full. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as never, depth++) {
    if (e.code === "ENOSPC" || e.code === "EDQUOT") return true;
    if (e.code === "53100") return true; // PostgreSQL's disk_full
    if (typeof e.message === "string" && /no space left on device|ENOSPC|could not extend file/i.test(e.message)) return true;
  }
  return false;
}

/**
 * The domain error a failure is, looking through wrappers (drizzle wraps a driver's error, and a
 * refusal of ours made inside a query, as its `cause`); a disk-full failure from any driver or
 * file is `disk_full`. Undefined for anything else: a bug, answered 500 and logged.
 */
export function domainErrorOf(err: unknown): DomainError | undefined {
  for (let e = err as { cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as never, depth++) {
    if (e instanceof DomainError) return e;
  }
  if (isDiskFull(err)) return new DomainError("disk_full", "no space left on device under the data dir; nothing was stored");
  return undefined;
}

