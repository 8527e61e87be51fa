// Gives memory back to the OS once a burst of work (an import, a job) is over, instead of leaving
// it resident until the runtime's own scavenger gets round to it (about 10 s later, and not all),
// and paces collections on bulk paths so their garbage does not pile up meanwhile.
// Measured in scripts/bench-footprint.ts; README "Memory footprint".

/**
 * A full collection, then JavaScriptCore's shrinkFootprintWhenIdle (Bun.shrink: frees JIT'd code
 * of functions not running and returns the malloc heaps' free pages). Bun.gc(true) alone also
 * tells mimalloc to collect, but leaves JSC's free pages mapped. Bun.shrink is deprecated and may
 * go: then the collection is all there is. WebAssembly memory (PGlite's heap) can never shrink.
 */
export function releaseMemory(): void {
  Bun.gc(true);
  (Bun as unknown as { shrink?: () => void }).shrink?.();
}

/**
 * A full collection every `everyTicks` ticks handled, for bulk paths (an import's parse and store,
 * a job's store load): they make garbage many times the size of what they keep, and
 * JavaScriptCore lets the heap grow in proportion to the memory it already reports, which PGlite's
 * WebAssembly memory inflates. Without it a 1M-tick import peaked near 1 GB on PGlite (300 MB on
 * PostgreSQL); scripts/bench-footprint.ts.
 */
export class GcPacer {
  private since = 0;
  constructor(private readonly everyTicks: number) {}
  add(ticks: number): void {
    this.since += ticks;
    if (this.since < this.everyTicks) return;
    this.since = 0;
    Bun.gc(true);
  }
}

/** Ticks between two collections on those paths: a collection costs a few ms at this heap size. */
export const GC_EVERY_TICKS = 250_000;

export interface MemoryTrim {
  /** Trim `delayMs` after the last call: a run of imports or jobs ending together trims once. */
  soon(): void;
  /** Cancels a pending trim; later soon() calls (a shutdown's last job states) do nothing. */
  stop(): void;
}

export interface MemoryTrimOptions {
  delayMs: number;
  /** What a trim does (default releaseMemory); tests count calls. */
  release?: () => void;
}

export function createMemoryTrim(options: MemoryTrimOptions): MemoryTrim {
  const release = options.release ?? releaseMemory;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  return {
    soon() {
      if (stopped) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        release();
      }, options.delayMs);
      // A pending trim never keeps the process alive.
      (timer as { unref?: () => void }).unref?.();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
