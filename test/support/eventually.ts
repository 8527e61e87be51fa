// The one way a test waits for something another thread, process or socket does: check until it
// holds, or fail with what was last seen. Bounded in time, never a fixed sleep.

export interface EventuallyOptions {
  /** Give up after this long (default 10 s); the failure names what was awaited. */
  timeoutMs?: number;
  /** Pause between checks (default 10 ms). */
  intervalMs?: number;
  /** Said in the failure: what the test was waiting for. */
  what?: string;
}

/** What a truthy check returned: `cond && value` resolves with the value, never `false`. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | "" | 0n>;

/**
 * Resolves with the first truthy value `check` returns (a sync or async check; a throw counts as
 * "not yet"), or rejects after `timeoutMs` with the last error or value seen.
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (performance.now() >= deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? "a condition"} (last: ${seen})`);
    }
    await Bun.sleep(intervalMs);
  }
}
