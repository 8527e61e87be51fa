// Test doubles for the realtime units: a transport that counts and a clock that only moves when told.
import type { Clock, RealtimeLogger, Transport } from "../../src/realtime/transport";

export class FakeTransport implements Transport {
  readonly subscribers = new Map<string, number>();
  readonly sent: { wire: string; data: string }[] = [];
  subscriberCountCalls = 0;
  /** What publish returns while subscribers exist (Bun: bytes, -1 backpressure, 0 dropped). */
  result: number | null = null;

  publish(wire: string, data: string): number {
    this.sent.push({ wire, data });
    if ((this.subscribers.get(wire) ?? 0) === 0) return 0;
    return this.result ?? data.length;
  }

  subscriberCount(wire: string): number {
    this.subscriberCountCalls++;
    return this.subscribers.get(wire) ?? 0;
  }

  listen(wire: string, n = 1): this {
    this.subscribers.set(wire, n);
    return this;
  }

  on(wire: string): unknown[] {
    return this.sent.filter((m) => m.wire === wire).map((m) => JSON.parse(m.data));
  }
}

export class FakeClock implements Clock {
  t = 1_700_000_000_000;
  private seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward, firing due timers in order at their own time. */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const entry of this.timers) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = target;
  }
}

export class MemoryLogger implements RealtimeLogger {
  readonly lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  info(msg: string, fields?: Record<string, unknown>) { this.lines.push({ level: "info", msg, fields }); }
  warn(msg: string, fields?: Record<string, unknown>) { this.lines.push({ level: "warn", msg, fields }); }
  error(msg: string, fields?: Record<string, unknown>) { this.lines.push({ level: "error", msg, fields }); }
}
