// History and recovery on /ws (protocol.md): epoch and seq on every message and confirmation; a
// subscribe with `since` replays what was missed byte for byte and goes on live without a gap or a
// duplicate, or says `recovered: false` by the rules; bad `since` values are clear errors and the
// socket stays open; a starter's replay never holds a message younger than the delay; a store's
// history fills what memory no longer holds, even while messages go on during the read; acks show
// as lag; history is bounded by count, age and bytes and goes with its topic.
import { afterEach, describe, expect, test } from "bun:test";
import type { State } from "../../src/realtime/topics";
import { closeAll, Client, ofType, startServer, type Json } from "./harness";

afterEach(closeAll);

const DELAY = 10_000;
const signal = (id: number): State => ({ type: "signal", signal: { id, strategy_id: 1, game_id: "g", action: "close", pnl: id / 10 } });

async function setup(hub: Record<string, unknown> = {}) {
  const s = await startServer({
    hub: {
      delay: { tier: "starter", ms: DELAY, applies: (t) => t.startsWith("signals") },
      resolveTopic: (t) => (t === "signals" || t === "ev" ? { ok: true, events: true } : t === "job:j1" ? { ok: true, initial: { status: "not_found" } } : { ok: false, reason: "unknown topic" }),
      ...hub,
    },
    mount: { identityOf: (req) => ({ role: "viewer", tier: req.headers.get("x-tier") ?? "pro", token: null, tokenId: null }) },
  });
  const connect = async (tier = "pro") => {
    const c = await Client.connect(`${s.ws}/ws`, { "x-tier": tier });
    await c.next(ofType("welcome"));
    return c;
  };
  const subscribe = async (c: Client, topic: string, since?: unknown) => {
    c.send(since === undefined ? { type: "subscribe", topic } : { type: "subscribe", topic, since });
    return c.next((m) => m.type === "subscription_confirmed" || m.type === "error");
  };
  return { ...s, connect, subscribe };
}

/** Every text message a socket receives, as sent. */
function rawLog(c: Client): string[] {
  const out: string[] = [];
  c.raw.addEventListener("message", (e) => out.push(String(e.data)));
  return out;
}

describe("epoch and seq", () => {
  test("the confirmation names the topic's epoch and latest seq; every message carries both, seq +1 each", async () => {
    const s = await setup();
    for (let i = 1; i <= 3; i++) s.hub.emit("signals", signal(i));
    const c = await s.connect();
    const confirmed = await s.subscribe(c, "signals");
    expect(confirmed).toMatchObject({ type: "subscription_confirmed", topic: "signals", seq: 3, epoch: expect.any(String) });
    expect(confirmed.recovered).toBeUndefined();
    s.hub.emit("signals", signal(4));
    s.hub.emit("signals", signal(5));
    await c.sync();
    expect(c.inbox.filter(ofType("signal")).map((m) => [m.seq, m.epoch])).toEqual([[4, confirmed.epoch], [5, confirmed.epoch]]);
  });
});

describe("since", () => {
  test("replays the missed messages byte for byte, then live: no gap, no duplicate", async () => {
    const s = await setup();
    const first = await s.connect();
    const firstRaw = rawLog(first);
    const { epoch } = await s.subscribe(first, "signals");
    for (let i = 1; i <= 4; i++) s.hub.emit("signals", signal(i));
    await first.sync();
    first.close();
    await first.closed;
    for (let i = 5; i <= 9; i++) s.hub.emit("signals", signal(i));
    const back = await s.connect();
    const backRaw = rawLog(back);
    const confirmed = await s.subscribe(back, "signals", { epoch, seq: 4 });
    expect(confirmed).toMatchObject({ recovered: true, epoch, seq: 9 });
    s.hub.emit("signals", signal(10));
    await back.sync();
    expect(back.inbox.filter(ofType("signal")).map((m) => m.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    // Byte for byte: what a socket that never left got for the same seqs.
    const stayer = await s.connect();
    const stayerRaw = rawLog(stayer);
    await s.subscribe(stayer, "signals");
    s.hub.emit("signals", signal(11));
    await stayer.sync();
    await back.sync();
    const bySeq = (lines: string[]) => new Map(lines.filter((l) => l.includes('"type":"signal"')).map((l) => [JSON.parse(l).seq as number, l]));
    const replayed = bySeq(backRaw);
    expect(replayed.get(11)).toBe(bySeq(stayerRaw).get(11));
    expect(bySeq(firstRaw).get(4)).toBeDefined();
    expect(replayed.get(5)).toBe(JSON.stringify({ type: "signal", topic: "signals", signal: signal(5).signal, seq: 5, epoch }));
  });

  test("up to date: recovered with nothing to send; further back than the history or the limit: recovered false, and nothing for an event topic", async () => {
    const s = await setup({ history: { size: 5, ttlMs: 60_000, maxBytes: 1 << 20 }, recoveryLimit: 3 });
    const c = await s.connect();
    const { epoch } = await s.subscribe(c, "signals");
    for (let i = 1; i <= 10; i++) s.hub.emit("signals", signal(i));
    const a = await s.connect();
    expect(await s.subscribe(a, "signals", { epoch, seq: 10 })).toMatchObject({ recovered: true, seq: 10 });
    const b = await s.connect();
    expect(await s.subscribe(b, "signals", { epoch, seq: 8 })).toMatchObject({ recovered: true });
    const d = await s.connect();
    expect(await s.subscribe(d, "signals", { epoch, seq: 6 })).toMatchObject({ recovered: false }); // 4 missed > limit 3
    const e = await s.connect();
    expect(await s.subscribe(e, "signals", { epoch, seq: 11 })).toMatchObject({ recovered: false }); // ahead of the topic
    for (const x of [a, b, d, e]) await x.sync();
    expect(a.inbox.filter(ofType("signal"))).toEqual([]);
    expect(b.inbox.filter(ofType("signal")).map((m) => m.seq)).toEqual([9, 10]);
    expect(d.inbox.filter(ofType("signal"))).toEqual([]);
    expect(e.inbox.filter(ofType("signal"))).toEqual([]);
    // Older than what the history holds (size 5: seqs 6..10), within the limit.
    const s2 = await setup({ history: { size: 2, ttlMs: 60_000, maxBytes: 1 << 20 } });
    const c2 = await s2.connect();
    const ep2 = (await s2.subscribe(c2, "signals")).epoch;
    for (let i = 1; i <= 6; i++) s2.hub.emit("signals", signal(i));
    const f = await s2.connect();
    expect(await s2.subscribe(f, "signals", { epoch: ep2, seq: 2 })).toMatchObject({ recovered: false, seq: 6 });
  });

  test("a foreign epoch is not recovered; malformed since values are errors naming the field, and the socket stays open", async () => {
    const s = await setup();
    const c = await s.connect();
    await s.subscribe(c, "signals");
    s.hub.emit("signals", signal(1));
    const f = await s.connect();
    expect(await s.subscribe(f, "signals", { epoch: "not-this-one", seq: 0 })).toMatchObject({ recovered: false });
    const bad: [unknown, string][] = [
      [{ epoch: "x", seq: -1 }, "since.seq"], [{ epoch: "x", seq: 1.5 }, "since.seq"], [{ epoch: "x", seq: 2 ** 60 }, "since.seq"],
      [{ epoch: "x", seq: "3" }, "since.seq"], [{ epoch: "x" }, "since.seq"], [{ epoch: 7, seq: 1 }, "since.epoch"],
      [{ epoch: "", seq: 1 }, "since.epoch"], [{ epoch: "e".repeat(65), seq: 1 }, "since.epoch"], ["x", '"since"'], [[1, 2], '"since"'], [null, '"since"'],
    ];
    const g = await s.connect();
    for (const [since, field] of bad) {
      const reply = await s.subscribe(g, "signals", since);
      expect([since, reply.type]).toEqual([since, "error"]);
      expect(reply.message).toContain(field);
    }
    expect(g.isClosed).toBe(false);
    expect((await s.subscribe(g, "signals")).type).toBe("subscription_confirmed");
  });

  test("a state topic: behind gets the latest state and recovered true; up to date gets nothing; a foreign epoch gets the state and recovered false", async () => {
    const s = await setup();
    s.hub.set("job:j1", { status: "running", current: 1, total: 10, current_combo: "" });
    const c = await s.connect();
    const confirmed = await s.subscribe(c, "job:j1");
    s.clock.advance(100);
    s.hub.set("job:j1", { status: "running", current: 5, total: 10, current_combo: "" });
    s.clock.advance(100);
    s.hub.set("job:j1", { status: "running", current: 7, total: 10, current_combo: "" });
    const behind = await s.connect();
    expect(await s.subscribe(behind, "job:j1", { epoch: confirmed.epoch, seq: 1 })).toMatchObject({ recovered: true, seq: 3 });
    const upToDate = await s.connect();
    expect(await s.subscribe(upToDate, "job:j1", { epoch: confirmed.epoch, seq: 3 })).toMatchObject({ recovered: true });
    const foreign = await s.connect();
    expect(await s.subscribe(foreign, "job:j1", { epoch: "old", seq: 99 })).toMatchObject({ recovered: false });
    for (const x of [behind, upToDate, foreign]) await x.sync();
    expect(behind.inbox.filter(ofType("progress")).map((m) => m.progress.current)).toEqual([7]);
    expect(upToDate.inbox.filter(ofType("progress"))).toEqual([]);
    expect(foreign.inbox.filter(ofType("progress")).map((m) => m.progress.current)).toEqual([7]);
  });

  test("a starter's replay holds nothing younger than the delay; what is younger follows on time", async () => {
    const s = await setup();
    const c = await s.connect("starter");
    const { epoch } = await s.subscribe(c, "signals");
    s.hub.emit("signals", signal(1));
    s.clock.advance(DELAY);
    await c.sync(); // seq 1 delivered to the tier
    c.close();
    await c.closed;
    s.hub.emit("signals", signal(2));
    s.clock.advance(DELAY / 2);
    s.hub.emit("signals", signal(3));
    s.clock.advance(DELAY / 2); // 2 is due now, 3 is half the delay old
    const back = await s.connect("starter");
    const confirmed = await s.subscribe(back, "signals", { epoch, seq: 1 });
    expect(confirmed).toMatchObject({ recovered: true, seq: 2 });
    await back.sync();
    expect(back.inbox.filter(ofType("signal")).map((m) => m.seq)).toEqual([2]);
    s.clock.advance(DELAY / 2 - 1);
    await back.sync();
    expect(back.inbox.filter(ofType("signal")).map((m) => m.seq)).toEqual([2]);
    s.clock.advance(1);
    await back.sync();
    expect(back.inbox.filter(ofType("signal")).map((m) => m.seq)).toEqual([2, 3]);
  });

  test("from the store: what memory lacks is read back, and messages published during the read follow without a gap", async () => {
    let release: (() => void) | null = null;
    const stored = new Map<number, State>();
    const s = await setup({
      history: { size: 0, ttlMs: 60_000, maxBytes: 1 << 20 },
      resolveTopic: (t: string) => (t === "signals" ? { ok: true, events: true, epoch: "store-1", seq: 4 } : { ok: false, reason: "unknown topic" }),
      storedHistory: (_t: string, after: number, limit: number) => new Promise((resolve) => {
        release = () => resolve([...stored].filter(([q]) => q > after).slice(0, limit).map(([seq, state]) => ({ seq, state })));
      }),
    });
    for (let i = 1; i <= 4; i++) stored.set(i, signal(i));
    const c = await s.connect();
    c.send({ type: "subscribe", topic: "signals", since: { epoch: "store-1", seq: 1 } });
    await Bun.sleep(20);
    // While the store is read, two more are stored and published.
    for (const i of [5, 6]) {
      stored.set(i, signal(i));
      s.hub.emit("signals", signal(i), { seq: i });
    }
    (release as unknown as () => void)();
    // Read after 5 and 6 were stored: the store has them all, memory (size 0 here) nothing.
    expect(await c.next(ofType("subscription_confirmed"))).toMatchObject({ recovered: true, epoch: "store-1", seq: 6 });
    await c.sync();
    expect(c.inbox.filter(ofType("signal")).map((m: Json) => m.seq)).toEqual([2, 3, 4, 5, 6]);
    // A read whose snapshot predates 5 and 6: memory holds them and joins them on.
    const s2 = await setup({
      resolveTopic: (t: string) => (t === "signals" ? { ok: true, events: true, epoch: "store-1", seq: 4 } : { ok: false, reason: "unknown topic" }),
      storedHistory: (_t: string, after: number) => new Promise((resolve) => {
        // The read's snapshot predates 5 and 6.
        const rows = [1, 2, 3, 4].filter((q) => q > after).map((seq) => ({ seq, state: signal(seq) }));
        release = () => resolve(rows);
      }),
    });
    const c2 = await s2.connect();
    c2.send({ type: "subscribe", topic: "signals", since: { epoch: "store-1", seq: 1 } });
    await Bun.sleep(20);
    for (const i of [5, 6]) s2.hub.emit("signals", signal(i), { seq: i });
    (release as unknown as () => void)();
    expect(await c2.next(ofType("subscription_confirmed"))).toMatchObject({ recovered: true, epoch: "store-1", seq: 6 });
    s2.hub.emit("signals", signal(7), { seq: 7 });
    await c2.sync();
    expect(c2.inbox.filter(ofType("signal")).map((m: Json) => m.seq)).toEqual([2, 3, 4, 5, 6, 7]);
  });
});

describe("acks and the history's bounds", () => {
  test("an ack shows per connection and topic as the acknowledged seq and the lag behind the latest", async () => {
    const s = await setup();
    const c = await s.connect();
    await s.subscribe(c, "signals");
    for (let i = 1; i <= 7; i++) s.hub.emit("signals", signal(i));
    c.send({ type: "ack", topic: "signals", seq: 4 });
    c.send({ type: "ack", topic: "signals", seq: 2 }); // an older ack does not move it back
    c.send({ type: "ack", topic: "not-followed", seq: 9 });
    c.send({ type: "ack", topic: "signals", seq: -1 });
    await c.next(ofType("error"));
    await c.sync();
    const conn = s.registry.status().connections[0];
    expect(conn.acks).toEqual([{ topic: "signals", seq: 7, acked: 4, lag: 3 }]);
  });

  test("bounded by count, age and bytes; a forgotten topic's history is gone", async () => {
    const s = await setup({ history: { size: 3, ttlMs: 1000, maxBytes: 1 << 20 } });
    for (let i = 1; i <= 10; i++) s.hub.emit("ev", { type: "x", n: i });
    expect(s.hub.stats().history).toMatchObject({ topics: 1, messages: 3 });
    s.clock.advance(1001);
    s.hub.emit("ev", { type: "x", n: 11 });
    expect(s.hub.stats().history.messages).toBe(1);
    s.hub.forget("ev");
    expect(s.hub.stats().history).toMatchObject({ topics: 0, messages: 0, bytes: 0 });
    const small = await setup({ history: { size: 1000, ttlMs: 60_000, maxBytes: 2000 } });
    for (let i = 1; i <= 100; i++) small.hub.emit("ev", { type: "x", pad: "p".repeat(100), n: i });
    const h = small.hub.stats().history;
    expect(h.bytes).toBeLessThanOrEqual(2000);
    expect(h.messages).toBeGreaterThan(5);
    // Age: an idle topic's history is swept by the timer too.
    small.clock.advance(120_000);
    expect(small.hub.stats().history.messages).toBe(0);
  });
});
