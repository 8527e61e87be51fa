// The circuit breaker around the store: every statement drizzle sends passes the driver entry
// points wrapped here (postgres.js `unsafe`/`begin`/`savepoint`, PGlite `query`/`exec`/
// `transaction`), so a dead or frozen database is noticed once, in one place, and every caller
// then fails at once with store_unavailable (503 + Retry-After) instead of hanging or answering 500.
//
// closed: calls pass; each races --store-timeout-ms; a store fault (connection refused or reset,
//   a timeout, SQLSTATE 08xxx or 57P0x) or a call slower than --store-slow-ms counts, anything
//   else (a constraint, a refusal of ours) is the store answering and resets the count.
// open: after --store-failures-to-open faults in a row; every call fails at once.
// half_open: --store-open-ms later, one call goes through as the probe; it closes or reopens.
import { SETTINGS } from "../config/settings";
import { DomainError } from "../errors";

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  failuresToOpen: number;
  openMs: number;
  slowMs: number;
  timeoutMs: number;
}

/** The settings' defaults (src/config/settings.ts): what a Database opened without options gets. */
export const DEFAULT_BREAKER: BreakerOptions = Object.freeze({
  failuresToOpen: SETTINGS.storeFailuresToOpen.default(),
  openMs: SETTINGS.storeOpenMs.default(),
  slowMs: SETTINGS.storeSlowMs.default(),
  timeoutMs: SETTINGS.storeTimeoutMs.default(),
});

/** A test-only fault at the adapter: `refuse` fails like a refused connection, `hang` never answers. */
export type InjectedFault = "refuse" | "hang";

export interface BreakerSnapshot {
  state: BreakerState;
  /** Faults in a row (closed), what opens it at `failures_to_open`. */
  consecutive_failures: number;
  failures_to_open: number;
  /** Seconds until a probe may go (open). */
  retry_after?: number;
  opened_total: number;
  rejected_total: number;
  last_error?: string;
}

/** What the breaker passes to a call: a transaction stops its clock while its own statements run
 *  (each of those is timed on its own), and starts it again for the commit. */
export interface CallClock {
  pause(): void;
  resume(): void;
  /** The caller was already told the store is unavailable: a transaction entered now must not
   *  do its work behind their back (it throws, so the driver rolls it back). */
  readonly expired: boolean;
}

const FAULT_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED",
  // postgres.js's own connection errors
  "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT",
]);

/** A failure of the store itself (not of the statement): what the breaker counts. */
export function isStoreFault(err: unknown): boolean {
  for (let e = err as { code?: unknown; errno?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as never, depth++) {
    if (e instanceof StoreFault) return true;
    for (const c of [e.code, e.errno]) {
      if (typeof c !== "string") continue;
      if (FAULT_CODES.has(c) || /^08/.test(c) || /^57P0\d$/.test(c)) return true;
    }
  }
  return false;
}

/** A fault the breaker itself raised (a timeout, an injected fault): wrapped as the cause. */
class StoreFault extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = "StoreFault";
  }
}

const COUNTED = new WeakSet<object>();

export class StoreBreaker {
  private current: BreakerState = "closed";
  private consecutive = 0;
  private openedAt = 0;
  private probing = false;
  private fault: InjectedFault | undefined;
  private lastError: string | undefined;
  private readonly waiters = new Set<() => void>();
  readonly counts = { opened: 0, rejected: 0, faults: 0, calls: 0 };

  /** `options` may be replaced while it runs (tests tune a borrowed database's breaker). */
  constructor(public options: BreakerOptions = DEFAULT_BREAKER, private readonly now: () => number = () => performance.now()) {}

  get state(): BreakerState {
    if (this.current === "open" && this.now() - this.openedAt >= this.options.openMs) return "half_open";
    return this.current;
  }

  /** True while calls are refused at once (open, or half-open with its probe out). */
  get refusing(): boolean {
    const s = this.state;
    return s === "open" || (s === "half_open" && this.probing);
  }

  /** Seconds a client should wait: until the probe may go, at least 1. */
  retryAfter(): number {
    const left = this.current === "closed" ? this.options.openMs : this.openedAt + this.options.openMs - this.now();
    return Math.max(1, Math.ceil(left / 1000));
  }

  /** Milliseconds until a probe may go (0 unless open). */
  msUntilProbe(): number {
    return this.current === "open" ? Math.max(0, this.openedAt + this.options.openMs - this.now()) : 0;
  }

  unavailable(cause?: unknown): DomainError {
    const err = new DomainError("store_unavailable", "database unavailable", { retry_after: this.retryAfter() });
    if (cause !== undefined) (err as { cause?: unknown }).cause = cause;
    return err;
  }

  /** Test hook: every later call meets this fault at the adapter (undefined: none). */
  injectFault(fault: InjectedFault | undefined): void {
    this.fault = fault;
  }

  /** Resolves the next time a call succeeds (the store is back), or at once when closed. */
  whenClosed(): Promise<void> {
    if (this.current === "closed" && this.consecutive === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  snapshot(): BreakerSnapshot {
    const state = this.state;
    return {
      state,
      consecutive_failures: this.consecutive,
      failures_to_open: this.options.failuresToOpen,
      ...(state !== "closed" ? { retry_after: this.retryAfter() } : {}),
      opened_total: this.counts.opened,
      rejected_total: this.counts.rejected,
      ...(this.lastError ? { last_error: this.lastError } : {}),
    };
  }

  /**
   * Runs one call to the driver under the breaker. `gate: false` for statements inside a
   * transaction the breaker already let through (the probe's own statements must not be refused
   * as a second probe); they are timed and counted all the same.
   */
  async run<T>(call: (clock: CallClock) => PromiseLike<T>, gate = true): Promise<T> {
    this.counts.calls++;
    let probe = false;
    if (gate) {
      const state = this.state;
      if (state === "open" || (state === "half_open" && this.probing)) {
        this.counts.rejected++;
        const out = this.unavailable();
        COUNTED.add(out);
        throw out;
      }
      if (state === "half_open") probe = this.probing = true;
    }
    const started = this.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let fail!: (err: unknown) => void;
    const timedOut = new Promise<never>((_, reject) => (fail = reject));
    let expired = false;
    const clock: CallClock = {
      get expired() {
        return expired;
      },
      pause: () => {
        clearTimeout(timer);
        timer = undefined;
      },
      resume: () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          expired = true;
          fail(new StoreFault(`no answer within ${this.options.timeoutMs} ms`, "ETIMEDOUT"));
        }, this.options.timeoutMs);
      },
    };
    clock.resume();
    try {
      const injected = this.fault;
      const pending: PromiseLike<T> = injected === "refuse"
        ? Promise.reject(new StoreFault("connection refused (injected)", "ECONNREFUSED"))
        : injected === "hang" ? new Promise<T>(() => {}) : call(clock);
      const value = await Promise.race([pending, timedOut]);
      const ms = this.now() - started;
      if (ms > this.options.slowMs) this.failed(new StoreFault(`a call took ${Math.round(ms)} ms`), probe);
      else this.succeeded(probe);
      return value;
    } catch (err) {
      // Already counted by a statement inside this transaction: once is enough.
      if (COUNTED.has(err as object)) throw err;
      // Our own refusals (disk_full) and the user's errors are the store answering.
      if (!isStoreFault(err)) {
        this.succeeded(probe);
        throw err;
      }
      this.failed(err, probe);
      const out = this.unavailable(err);
      COUNTED.add(out);
      throw out;
    } finally {
      clearTimeout(timer);
      if (probe) this.probing = false;
    }
  }

  private succeeded(probe: boolean): void {
    if (this.current !== "closed" && !probe) return; // a straggler from before it opened decides nothing
    this.current = "closed";
    this.consecutive = 0;
    this.lastError = undefined;
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  private failed(err: unknown, probe: boolean): void {
    this.counts.faults++;
    this.lastError = err instanceof Error ? err.message : String(err);
    this.consecutive++;
    if (probe || (this.current === "closed" && this.consecutive >= this.options.failuresToOpen)) {
      if (this.current === "closed") this.counts.opened++;
      this.current = "open";
      this.openedAt = this.now();
    }
  }
}

/** Waits until `breaker` may let a call through again (at least `ms`): a writer retrying through
 *  an outage sleeps through the open window instead of spinning on refusals. */
export function retryDelay(breaker: StoreBreaker | undefined, ms = 250): Promise<void> {
  const wait = breaker?.refusing ? Math.max(ms, breaker.msUntilProbe()) : ms;
  return new Promise((resolve) => setTimeout(resolve, wait));
}
