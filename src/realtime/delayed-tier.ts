// The tier that gets some topics late (live.md "Tiers": starter identities, --starter-delay-ms):
// every message of those topics waits here its delay, then the hub sends the very bytes and seq on
// the tier's own wire topics, and the copy it last delivered is what a late subscriber of the tier
// starts from. One delay for all, so due times only grow: a FIFO and one timer suffice.
import { LatencyHistogram, type BucketCounts, type HistogramSnapshot } from "./histogram";
import type { State } from "./topics";
import type { Clock } from "./transport";

/** A tier that gets some topics late. */
export interface TierDelay {
  tier: string;
  ms: number;
  applies: (topic: string) => boolean;
}

/** A message on its way to the tier: what went out on the common wire topics. */
export interface DelayedMessage {
  topic: string;
  kind: "state" | "event";
  state: State;
  seq: number;
  terminal: boolean;
  /** Bytes already rendered for the common copy, per format: the tier gets the very same. */
  data: Map<string, string | null>;
}

/** What the tier has been sent of a topic: its last message (and state), for new subscribers. */
export interface DelayedCopy {
  seq: number;
  state: State;
  kind: "state" | "event";
  terminal: boolean;
}

export interface DelayedTierStats {
  tier: string;
  ms: number;
  waiting: number;
  sent: number;
  lateness: HistogramSnapshot;
}

export class DelayedTier {
  private readonly queue: (DelayedMessage & { dueAt: number })[] = [];
  private head = 0;
  private readonly copies = new Map<string, DelayedCopy>();
  private readonly lateness = new LatencyHistogram();
  private sent = 0;
  private timer: unknown = null;
  private closed = false;

  constructor(
    readonly spec: TierDelay,
    private readonly clock: Clock,
    /** Sends a due message on the tier's wire topics; returns how many formats it went out in. */
    private readonly deliver: (message: DelayedMessage, now: number) => number,
  ) {}

  get tier(): string {
    return this.spec.tier;
  }

  /** Is this topic delayed for this tier? */
  covers(topic: string, tier: string | undefined): boolean {
    return tier === this.spec.tier && this.spec.applies(topic);
  }

  applies(topic: string): boolean {
    return this.spec.applies(topic);
  }

  push(message: DelayedMessage): void {
    this.queue.push({ ...message, dueAt: this.clock.now() + this.spec.ms });
    this.arm();
  }

  copy(topic: string): DelayedCopy | undefined {
    return this.copies.get(topic);
  }

  forget(topic: string): void {
    this.copies.delete(topic);
  }

  /** Copies not yet due are dropped: their sockets are closing with the server. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  stats(): DelayedTierStats {
    return { tier: this.spec.tier, ms: this.spec.ms, waiting: this.queue.length - this.head, sent: this.sent, lateness: this.lateness.snapshot() };
  }

  latenessRaw(): BucketCounts {
    return this.lateness.raw();
  }

  private arm(): void {
    if (this.timer !== null || this.closed || this.head >= this.queue.length) return;
    this.timer = this.clock.setTimeout(() => this.due(), Math.max(0, this.queue[this.head].dueAt - this.clock.now()));
  }

  private due(): void {
    this.timer = null;
    const now = this.clock.now();
    // Half a millisecond of slack: timers may fire a hair early against a sub-ms clock.
    while (this.head < this.queue.length && this.queue[this.head].dueAt <= now + 0.5) {
      const d = this.queue[this.head];
      this.queue[this.head++] = undefined as never;
      this.copies.set(d.topic, { seq: d.seq, state: d.state, kind: d.kind, terminal: d.terminal });
      if (this.deliver(d, now) > 0) {
        this.lateness.record(now - d.dueAt);
        this.sent++;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }
}
