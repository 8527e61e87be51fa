// The store's round trip as the alerts and the history see it: one ping per history interval,
// never two at once. A ping still out counts as at least as slow as it has taken so far, so a
// frozen store reads slower with every look instead of keeping its last good figure.
import type { Clock } from "../realtime/transport";

export interface StoreReading {
  /** The last round trip in ms (or how long the one out has taken, when longer); null before any. */
  latencyMs: number | null;
  /** The last ping failed (the store refused, the breaker is open, or it timed out). */
  failing: boolean;
}

export interface StoreProbe {
  /** Starts a ping unless one is out. */
  probe(): void;
  reading(): StoreReading;
}

export function createStoreProbe(deps: { ping: () => Promise<void>; clock: Clock; timeoutMs?: number }): StoreProbe {
  const { clock } = deps;
  const timeoutMs = deps.timeoutMs ?? 5000;
  let last: number | null = null;
  let failing = false;
  let startedAt: number | null = null;
  return {
    probe() {
      if (startedAt !== null) return;
      const started = clock.now();
      startedAt = started;
      let timer: unknown;
      const timeout = new Promise<never>((_, reject) => {
        timer = clock.setTimeout(() => reject(new Error("ping timed out")), timeoutMs);
      });
      // ping() may throw before it returns a promise (the slot while the store is opening).
      Promise.race([Promise.resolve().then(deps.ping), timeout]).then(
        () => { last = clock.now() - started; failing = false; },
        () => { last = clock.now() - started; failing = true; },
      ).finally(() => {
        clock.clearTimeout(timer);
        startedAt = null;
      });
    },
    reading() {
      const out = startedAt === null ? 0 : clock.now() - startedAt;
      const latencyMs = last === null && startedAt === null ? null : Math.max(last ?? 0, out);
      return { latencyMs: latencyMs === null ? null : Math.round(latencyMs * 100) / 100, failing };
    },
  };
}
