// The recent messages of in-memory event topics, as first published on `/ws` (protocol.md "History
// and recovery"): what a client reconnecting with `since` is replayed, byte for byte. Bounded per
// topic by count and age and in all by bytes; a topic's history goes when its messages expire or
// the topic is forgotten, so it is held only while a recovery could use it.

export interface HistoryLimits {
  /** Messages kept per topic (the newest). */
  size: number;
  /** Messages older than this are dropped. */
  ttlMs: number;
  /** All topics' messages together at most this many bytes (a topic that goes over loses its oldest first). */
  maxBytes: number;
}

// 256 MiB: protocol.md's 1000 messages on 1,000 busy topics (bench-ws: about 133 bytes a message) with
// room to spare; held only while messages flow (they expire after the ttl).
export const HISTORY_DEFAULTS: HistoryLimits = { size: 1000, ttlMs: 5 * 60_000, maxBytes: 256 * 1024 * 1024 };

/** One topic's messages in seq order, without gaps: seq of data[i] is firstSeq + i. */
class TopicHistory {
  firstSeq = 0;
  readonly data: string[] = [];
  readonly at: number[] = [];
  readonly bytes: number[] = [];
  head = 0;

  get length(): number {
    return this.data.length - this.head;
  }

  lastSeq(): number {
    return this.firstSeq + this.length - 1;
  }

  dropOldest(): number {
    const b = this.bytes[this.head];
    this.data[this.head] = "";
    this.head++;
    this.firstSeq++;
    if (this.head > 256 && this.head * 2 > this.data.length) {
      this.data.splice(0, this.head);
      this.at.splice(0, this.head);
      this.bytes.splice(0, this.head);
      this.head = 0;
    }
    return b;
  }
}

export interface HistoryStats {
  topics: number;
  messages: number;
  bytes: number;
  limits: HistoryLimits;
}

export class History {
  private readonly topics = new Map<string, TopicHistory>();
  private totalBytes = 0;
  private totalMessages = 0;

  constructor(readonly limits: HistoryLimits = HISTORY_DEFAULTS) {}

  /** Records message `seq` of a topic; a gap (a message not recorded) starts the topic's history afresh. */
  append(topic: string, seq: number, data: string, now: number): void {
    if (this.limits.size <= 0) return;
    let h = this.topics.get(topic);
    if (h && h.length > 0 && seq !== h.lastSeq() + 1) {
      this.forget(topic);
      h = undefined;
    }
    if (!h) {
      h = new TopicHistory();
      h.firstSeq = seq;
      this.topics.set(topic, h);
    }
    const bytes = Buffer.byteLength(data);
    h.data.push(data);
    h.at.push(now);
    h.bytes.push(bytes);
    this.totalBytes += bytes;
    this.totalMessages++;
    while (h.length > this.limits.size) this.dropOne(h);
    while (this.totalBytes > this.limits.maxBytes && h.length > 0) this.dropOne(h);
    this.expire(topic, h, now);
  }

  /**
   * The messages after `afterSeq` up to `uptoSeq`, or null when the history does not hold every one
   * of them (expired, never recorded, or dropped for room).
   */
  range(topic: string, afterSeq: number, uptoSeq: number, now: number): string[] | null {
    if (uptoSeq <= afterSeq) return [];
    const h = this.topics.get(topic);
    if (!h) return null;
    this.expire(topic, h, now);
    if (h.length === 0 || h.firstSeq > afterSeq + 1 || h.lastSeq() < uptoSeq) return null;
    const from = h.head + (afterSeq + 1 - h.firstSeq);
    return h.data.slice(from, from + (uptoSeq - afterSeq));
  }

  /** The held messages after `afterSeq`, as far as they go (for joining a store's older ones). */
  after(topic: string, afterSeq: number, now: number): { firstSeq: number; data: string[] } | null {
    const h = this.topics.get(topic);
    if (!h) return null;
    this.expire(topic, h, now);
    if (h.length === 0) return null;
    const start = Math.max(afterSeq + 1, h.firstSeq);
    if (start > h.lastSeq()) return { firstSeq: start, data: [] };
    return { firstSeq: start, data: h.data.slice(h.head + (start - h.firstSeq)) };
  }

  forget(topic: string): void {
    const h = this.topics.get(topic);
    if (!h) return;
    for (let i = h.head; i < h.data.length; i++) this.totalBytes -= h.bytes[i];
    this.totalMessages -= h.length;
    this.topics.delete(topic);
  }

  /** Drops expired messages everywhere (called now and then, so an idle topic's history does not linger). */
  sweep(now: number): void {
    for (const [topic, h] of this.topics) this.expire(topic, h, now);
  }

  stats(): HistoryStats {
    return { topics: this.topics.size, messages: this.totalMessages, bytes: this.totalBytes, limits: this.limits };
  }

  private dropOne(h: TopicHistory): void {
    this.totalBytes -= h.dropOldest();
    this.totalMessages--;
  }

  private expire(topic: string, h: TopicHistory, now: number): void {
    const cutoff = now - this.limits.ttlMs;
    while (h.length > 0 && h.at[h.head] < cutoff) this.dropOne(h);
    if (h.length === 0) this.topics.delete(topic);
  }
}
