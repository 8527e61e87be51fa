// Rate limits (access.md): a token bucket per key (a token's id, or the client's address for
// anonymous requests) for each kind of costly request, held in a map of fixed capacity that
// forgets the least recently used key, so a client cycling addresses cannot grow it.
import { DomainError } from "../errors";

/** What a limit counts: sign-in attempts, job submissions, imports (each its own setting). */
export type LimitKind = "login" | "jobs" | "imports";

export interface RateLimitOptions {
  /** Requests allowed per minute; the bucket holds this many and refills evenly over the minute. 0 or less: no limit.
   *  Read at each request, so a reload that changes it (a getter) applies to the next one. */
  perMinute: number;
  /** Milliseconds; injected so tests advance time instead of waiting. */
  now: () => number;
  /** Most keys remembered; past it the least recently used is forgotten (its client starts afresh). */
  capacity?: number;
}

/** Distinct clients remembered per limit: each costs a few dozen bytes, so the whole map stays under a MB. */
export const DEFAULT_CAPACITY = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  // A Map iterates in insertion order: re-inserting a key on every use keeps the least recently
  // used first, so eviction is O(1) without a linked list of our own.
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;

  constructor(private readonly options: RateLimitOptions) {
    this.capacity = Math.max(1, options.capacity ?? DEFAULT_CAPACITY);
  }

  /** Keys held now (at most the capacity). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes one request from the key's bucket, or throws rate_limited with the whole seconds until
   * one is back (what Retry-After says).
   */
  take(key: string): void {
    const wait = this.tryTake(key);
    if (wait > 0) throw new DomainError("rate_limited", "rate limited", { retry_after: wait });
  }

  /** 0 when the request may go ahead, else the seconds to wait (at least 1). */
  tryTake(key: string): number {
    const { perMinute, now } = this.options;
    if (!(perMinute > 0)) return 0;
    const perMs = perMinute / 60_000;
    const t = now();
    const held = this.buckets.get(key);
    let b: Bucket;
    if (held) {
      this.buckets.delete(key);
      b = held;
      b.tokens = Math.min(perMinute, b.tokens + Math.max(0, t - b.at) * perMs);
      b.at = t;
    } else {
      b = { tokens: perMinute, at: t };
      if (this.buckets.size >= this.capacity) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
  }
}

export interface RateLimits {
  login: RateLimiter;
  jobs: RateLimiter;
  imports: RateLimiter;
}

/** One limiter per kind; each reads `perMinute[kind]` at every request (so getters there make them live). */
export function createRateLimits(perMinute: Readonly<Record<LimitKind, number>>, now: () => number, capacity = DEFAULT_CAPACITY): RateLimits {
  const limiter = (kind: LimitKind) => new RateLimiter({ get perMinute() { return perMinute[kind]; }, now, capacity });
  return { login: limiter("login"), jobs: limiter("jobs"), imports: limiter("imports") };
}
