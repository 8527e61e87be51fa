// What the hub needs from Bun's server to fan messages out, and a late-bound stand-in so the hub
// can exist before `listen()` creates the server.

/** Bun's `Server` satisfies this; tests pass a fake that counts calls. */
export interface Transport {
  /** Bun: bytes sent, 0 if nobody listens or a subscriber dropped it, -1 under backpressure. */
  publish(wireTopic: string, data: string): number;
  subscriberCount(wireTopic: string): number;
}

export interface LateTransport extends Transport {
  /** Points the transport at the server (after listen) or back at nothing (after stop). */
  bind(target: Transport | null | undefined): void;
  readonly bound: boolean;
}

/** Until bound, nobody is subscribed: publishing is a no-op and nothing gets rendered. */
export function createLateTransport(): LateTransport {
  let target: Transport | null = null;
  return {
    publish: (wire, data) => (target ? target.publish(wire, data) : 0),
    subscriberCount: (wire) => (target ? target.subscriberCount(wire) : 0),
    bind(next) {
      target = next ?? null;
    },
    get bound() {
      return target !== null;
    },
  };
}

export interface Clock {
  /** Milliseconds since the epoch, with sub-millisecond precision where available. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface RealtimeLogger {
  /** Optional: the connection lifecycle lines (connection-log.ts) go here when the logger has it. */
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const quietLogger: RealtimeLogger = { info() {}, warn() {}, error() {} };
