// The client side of the `/ws` socket (protocol.md): parsing and checking what clients send, and
// the server's own control messages. Errors never close the socket; they are answered.

export type MessageId = string | number;

/** Where a resubscribing client left off (protocol.md "History and recovery"). */
export interface SinceField {
  epoch: string;
  seq: number;
}

export type ClientMessage =
  | { type: "subscribe"; topic: string; since?: SinceField; id?: MessageId }
  | { type: "unsubscribe"; topic: string; id?: MessageId }
  | { type: "ack"; topic: string; seq: number; id?: MessageId }
  | { type: "ping"; id?: MessageId };

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; error: string; id?: MessageId };

export const MAX_TOPIC_LENGTH = 200;
const MAX_ID_LENGTH = 128;
const MAX_EPOCH_LENGTH = 64;

/** A seq as a client may send it: an integer from 0 to 2^53 - 1. */
const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function validId(id: unknown): id is MessageId {
  return (typeof id === "string" && id.length <= MAX_ID_LENGTH) || (typeof id === "number" && Number.isFinite(id));
}

/**
 * Accepts what Elysia hands the message handler: it has already JSON-parsed text that looked
 * like JSON, so a string here is text that was not valid JSON (or a JSON string, which is no
 * message either); bytes arrive as a Buffer.
 */
export function parseClientMessage(raw: unknown): Parsed {
  let value = raw;
  if (raw instanceof Uint8Array) value = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8");
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, error: "invalid JSON" };
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: 'a message must be a JSON object with a "type"' };
  }
  const msg = value as Record<string, unknown>;
  const id = validId(msg.id) ? msg.id : undefined;
  if ("id" in msg && msg.id !== undefined && id === undefined) {
    return { ok: false, error: `"id" must be a string of at most ${MAX_ID_LENGTH} characters or a number` };
  }
  const fail = (error: string): Parsed => (id === undefined ? { ok: false, error } : { ok: false, error, id });
  if (typeof msg.type !== "string") return fail('a message must be a JSON object with a "type"');
  const withId = <T extends object>(m: T) => (id === undefined ? m : { ...m, id });
  switch (msg.type) {
    case "ping":
      return { ok: true, message: withId({ type: "ping" as const }) };
    case "subscribe":
    case "unsubscribe":
    case "ack": {
      const topic = msg.topic;
      if (typeof topic !== "string" || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
        return fail(`"${msg.type}" needs a "topic": a string of 1 to ${MAX_TOPIC_LENGTH} characters`);
      }
      if (msg.type === "ack") {
        if (!isSeq(msg.seq)) return fail('"ack" needs a "seq": an integer from 0 to 2^53 - 1');
        return { ok: true, message: withId({ type: "ack" as const, topic, seq: msg.seq }) };
      }
      if (msg.type === "subscribe" && msg.since !== undefined) {
        const since = msg.since as Record<string, unknown> | null;
        if (typeof since !== "object" || since === null || Array.isArray(since)) {
          return fail('"since" must be an object {"epoch": string, "seq": integer}');
        }
        if (typeof since.epoch !== "string" || since.epoch.length === 0 || since.epoch.length > MAX_EPOCH_LENGTH) {
          return fail(`"since.epoch" must be a string of 1 to ${MAX_EPOCH_LENGTH} characters`);
        }
        if (!isSeq(since.seq)) return fail('"since.seq" must be an integer from 0 to 2^53 - 1');
        return { ok: true, message: withId({ type: "subscribe" as const, topic, since: { epoch: since.epoch, seq: since.seq } }) };
      }
      return { ok: true, message: withId({ type: msg.type, topic }) };
    }
    default:
      return fail(`unknown message type "${msg.type.slice(0, 64)}" (expected subscribe, unsubscribe, ack or ping)`);
  }
}

function withOptionalId(body: Record<string, unknown>, id: MessageId | undefined): string {
  return JSON.stringify(id === undefined ? body : { ...body, id });
}

export const serverMessages = {
  welcome: (connectionId: string) => JSON.stringify({ type: "welcome", connection_id: connectionId }),
  /** With the topic's epoch and latest seq (protocol.md), and `recovered` when the subscribe had `since`. */
  subscriptionConfirmed: (topic: string, position?: { epoch: string; seq: number; recovered?: boolean }, id?: MessageId) =>
    withOptionalId({ type: "subscription_confirmed", topic, ...position }, id),
  unsubscriptionConfirmed: (topic: string, id?: MessageId) => withOptionalId({ type: "unsubscription_confirmed", topic }, id),
  /** `timestamp`: unix seconds as a float, as the source system sent it. */
  pong: (nowMs: number, id?: MessageId) => withOptionalId({ type: "pong", timestamp: nowMs / 1000 }, id),
  error: (message: string, id?: MessageId) => withOptionalId({ type: "error", message }, id),
  serverShutdown: (message: string, nowMs: number) =>
    JSON.stringify({ type: "server_shutdown", message, timestamp: nowMs / 1000 }),
};

/** The one thing the one-topic sockets understand: `{"type":"ping"}` (anything else is ignored). */
export function isPing(raw: unknown): { ping: true; id?: MessageId } | { ping: false } {
  const parsed = parseClientMessage(raw);
  if (parsed.ok && parsed.message.type === "ping") return { ping: true, id: parsed.message.id };
  return { ping: false };
}
