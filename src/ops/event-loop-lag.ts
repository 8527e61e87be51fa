// Event-loop lag, measured all the time: how late the loop runs a timer, the delay every socket
// message, request and publish also waits. Bun has perf_hooks.monitorEventLoopDelay (checked on
// 1.4.4: a 100 ms block reads p99 99 ms), a histogram filled by its own native timer, so reading
// it costs nothing per tick of ours. Where it is missing, a timer-drift sampler on the injected
// clock does the same job more coarsely.
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Clock } from "../realtime/transport";

/** One reading, in milliseconds, over the last one to two windows. */
export interface EventLoopFigures {
  p99Ms: number;
  maxMs: number;
  windowMs: number;
}

/** What a lag source records into and reads back (monitorEventLoopDelay's histogram, or the drift sampler's). */
export interface LagSource {
  /** p99 and max of the delays since the last reset, in ms; null when nothing was recorded. */
  read(): { p99Ms: number; maxMs: number } | null;
  reset(): void;
  stop(): void;
}

export interface EventLoopLag {
  figures(): EventLoopFigures;
  stop(): void;
}

/** Bun's native histogram (nanoseconds inside), sampled every `resolutionMs`. */
export function histogramSource(resolutionMs = 10): LagSource | null {
  try {
    const h = monitorEventLoopDelay({ resolution: resolutionMs });
    h.enable();
    return {
      read: () => (h.count > 0 ? { p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 } : null),
      reset: () => h.reset(),
      stop: () => h.disable(),
    };
  } catch {
    return null;
  }
}

/** A timer asked for every `periodMs`; how much later than asked it runs is the lag. */
export function driftSource(clock: Clock, periodMs = 50): LagSource {
  let samples: number[] = [];
  let timer: unknown = null;
  let due = 0;
  const arm = () => {
    due = clock.now() + periodMs;
    timer = clock.setTimeout(fire, periodMs);
  };
  function fire(): void {
    samples.push(Math.max(0, clock.now() - due));
    // A long window at a short period would grow without bound: keep the worst half when full.
    if (samples.length > 4096) samples = samples.sort((a, b) => a - b).slice(2048);
    arm();
  }
  arm();
  return {
    read() {
      if (samples.length === 0) return null;
      const sorted = [...samples].sort((a, b) => a - b);
      return { p99Ms: sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)], maxMs: sorted[sorted.length - 1] };
    },
    reset: () => void (samples = []),
    stop: () => {
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
    },
  };
}

export interface EventLoopLagDeps {
  clock: Clock;
  /** The p99 covers the last completed window and the one under way (default 10 s). */
  windowMs?: number;
  /** Default: Bun's histogram, else the drift sampler. */
  source?: LagSource;
}

/**
 * The reading is the worse of the last completed window and the current one, so a stall shows at
 * once and is still seen for a whole window after it ended (the history samples every 10 s).
 */
export function createEventLoopLag(deps: EventLoopLagDeps): EventLoopLag {
  const { clock } = deps;
  const windowMs = deps.windowMs ?? 10_000;
  const source = deps.source ?? histogramSource() ?? driftSource(clock);
  let previous: { p99Ms: number; maxMs: number } | null = null;
  let timer: unknown = clock.setTimeout(rotate, windowMs);
  function rotate(): void {
    previous = source.read();
    source.reset();
    timer = clock.setTimeout(rotate, windowMs);
  }
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    figures() {
      const now = source.read();
      return {
        p99Ms: round(Math.max(previous?.p99Ms ?? 0, now?.p99Ms ?? 0)),
        maxMs: round(Math.max(previous?.maxMs ?? 0, now?.maxMs ?? 0)),
        windowMs,
      };
    },
    stop() {
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      source.stop();
    },
  };
}
