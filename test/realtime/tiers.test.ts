// Event topics and the delayed tier on the hub (live.md "Topics", "Tiers"): an event topic sends
// one message per event (or one per tick with merge) in order, a new subscriber first gets the
// topic's snapshot; a starter socket gets the same bytes and seq as a pro one, exactly the delay
// later on the injected clock, rendered once per topic per tier, never earlier, and a starter
// subscriber joining late gets the tier's copy, not the newest state.
import { afterEach, describe, expect, test } from "bun:test";
import type { State } from "../../src/realtime/topics";
import { closeAll, Client, ofType, startServer, type Json } from "./harness";

const DELAY = 15_000;
const tierHeader = (tier: string) => ({ "x-tier": tier });

async function tiered(options: { snapshot?: (topic: string, seq: number) => State | undefined } = {}) {
  const known = new Set(["live", "signals", "live:g1"]);
  const s = await startServer({
    hub: {
      delay: { tier: "starter", ms: DELAY, applies: (t) => t === "live" || t === "signals" || t.startsWith("live:") },
      resolveTopic: (t) => (known.has(t) ? { ok: true, events: t !== "live", initial: t === "live" ? { type: "live", games: [] } : undefined } : { ok: false, reason: "unknown topic" }),
      eventSnapshot: options.snapshot,
    },
    mount: { identityOf: (req) => ({ role: "viewer", tier: req.headers.get("x-tier") ?? "pro", token: null, tokenId: null }) },
  });
  const subscribe = async (tier: string, topic: string) => {
    const c = await Client.connect(`${s.ws}/ws`, tierHeader(tier));
    await c.next(ofType("welcome"));
    c.send({ type: "subscribe", topic });
    await c.next(ofType("subscription_confirmed"));
    return c;
  };
  return { ...s, subscribe };
}

const signal = (id: number): State => ({ type: "signal", signal: { id, strategy_id: 1, game_id: "g1", action: "open_long" } });

afterEach(closeAll);

describe("event topics", () => {
  test("one message per emitted event, in order, seq +1 each, even within one tick", async () => {
    const s = await tiered();
    const pro = await s.subscribe("pro", "signals");
    for (let i = 1; i <= 5; i++) s.hub.emit("signals", signal(i));
    await pro.sync();
    const got = pro.inbox.filter(ofType("signal"));
    expect(got.map((m) => m.signal.id)).toEqual([1, 2, 3, 4, 5]);
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(got.every((m) => m.topic === "signals")).toBe(true);
  });

  test("merged events: the first goes at once, the rest of the tick in one message; a terminal one flushes the batch first", async () => {
    const s = await tiered();
    const c = await s.subscribe("pro", "live:g1");
    const merge = (a: State, b: State): State => ({ type: "ticks", game_id: "g1", ticks: [...(a.ticks as unknown[]), ...(b.ticks as unknown[])] });
    s.hub.emit("live:g1", { type: "ticks", game_id: "g1", ticks: [[1, 0.5, 0.5]] }, { merge });
    s.hub.emit("live:g1", { type: "ticks", game_id: "g1", ticks: [[2, 0.5, 0.5]] }, { merge });
    s.hub.emit("live:g1", { type: "ticks", game_id: "g1", ticks: [[3, 0.5, 0.5]] }, { merge });
    await c.sync();
    expect(c.inbox.filter(ofType("ticks")).map((m) => m.ticks)).toEqual([[[1, 0.5, 0.5]]]);
    s.clock.advance(s.settings.tickMs);
    await c.sync();
    expect(c.inbox.filter(ofType("ticks")).map((m) => [m.seq, m.ticks])).toEqual([[1, [[1, 0.5, 0.5]]], [2, [[2, 0.5, 0.5], [3, 0.5, 0.5]]]]);
    s.hub.emit("live:g1", { type: "ticks", game_id: "g1", ticks: [[4, 0.5, 0.5]] }, { merge });
    s.hub.emit("live:g1", { type: "settled", game_id: "g1", outcome: 1 }, { terminal: true });
    await c.sync();
    const tail = c.inbox.filter((m) => m.type === "ticks" || m.type === "settled").slice(2);
    expect(tail.map((m) => [m.type, m.seq])).toEqual([["ticks", 3], ["settled", 4]]);
  });

  test("a new subscriber first gets the snapshot as of the last message, then the next ones: nothing twice, nothing skipped", async () => {
    const all: number[][] = [];
    const uptoBySeq = [0];
    const s = await tiered({
      snapshot: (_t, seq) => ({ type: "ticks", game_id: "g1", ticks: all.slice(0, uptoBySeq[seq] ?? 0) }),
    });
    s.hub.onPublish((e) => { if (e.topic === "live:g1") uptoBySeq[e.seq] = e.state.upto as number; });
    const merge = (a: State, b: State): State => ({ ...b, ticks: [...(a.ticks as unknown[]), ...(b.ticks as unknown[])] });
    const tick = (t: number) => {
      all.push([t, 0.5, 0.5]);
      s.hub.emit("live:g1", { type: "ticks", game_id: "g1", ticks: [[t, 0.5, 0.5]], upto: all.length }, { merge });
    };
    tick(1);
    tick(2); // waits for the tick: not in the snapshot, in the next message
    const late = await s.subscribe("pro", "live:g1");
    s.clock.advance(s.settings.tickMs);
    tick(3);
    s.clock.advance(s.settings.tickMs);
    await late.sync();
    const ticks = late.inbox.filter(ofType("ticks"));
    expect(ticks[0].seq).toBe(1);
    expect(ticks.flatMap((m) => m.ticks.map((x: number[]) => x[0]))).toEqual([1, 2, 3]);
  });
});

describe("the starter tier", () => {
  test("same bytes and seq as pro, exactly the delay later, never earlier; rendered once per tier", async () => {
    const s = await tiered();
    const pro = await s.subscribe("pro", "signals");
    const starters = await Promise.all([1, 2, 3].map(() => s.subscribe("starter", "signals")));
    const raw: Record<string, string[]> = { pro: [], starter: [] };
    pro.raw.addEventListener("message", (e) => raw.pro.push(String(e.data)));
    starters[0].raw.addEventListener("message", (e) => raw.starter.push(String(e.data)));
    const rendersBefore = s.hub.stats().renders;
    s.hub.emit("signals", signal(1));
    s.clock.advance(1000);
    s.hub.emit("signals", signal(2));
    await pro.sync();
    for (const c of starters) await c.sync();
    expect(pro.inbox.filter(ofType("signal")).length).toBe(2);
    expect(starters.every((c) => c.inbox.filter(ofType("signal")).length === 0)).toBe(true);
    s.clock.advance(DELAY - 1000 - 1); // 1 ms before the first is due
    for (const c of starters) await c.sync();
    expect(starters[0].inbox.filter(ofType("signal")).length).toBe(0);
    s.clock.advance(1);
    for (const c of starters) await c.sync();
    expect(starters.map((c) => c.inbox.filter(ofType("signal")).map((m) => m.seq))).toEqual([[1], [1], [1]]);
    s.clock.advance(1000);
    for (const c of starters) await c.sync();
    expect(starters[2].inbox.filter(ofType("signal")).map((m) => m.signal.id)).toEqual([1, 2]);
    const proSignals = raw.pro.filter((t) => t.includes('"signal"'));
    expect(raw.starter.filter((t) => t.includes('"signal"'))).toEqual(proSignals);
    // Once for the pro copy; the starter copy reuses those bytes: no render per connection or per tier.
    expect(s.hub.stats().renders - rendersBefore).toBe(2);
    expect(s.hub.stats().delayed.lateness.count).toBe(2);
    expect(s.hub.stats().delayed.lateness.max_ms).toBe(0);
  });

  test("a state topic: a starter joining late gets the copy delivered to its tier, not the newest state", async () => {
    const s = await tiered();
    s.hub.set("live", { type: "live", games: [{ game_id: "a" }] });
    const early = await s.subscribe("starter", "live");
    // Nothing delivered to the tier yet: nothing younger than the delay is shown.
    expect(early.inbox.filter(ofType("live"))).toEqual([]);
    s.clock.advance(DELAY);
    await early.sync();
    expect(early.inbox.filter(ofType("live")).map((m) => m.games)).toEqual([[{ game_id: "a" }]]);
    s.hub.set("live", { type: "live", games: [{ game_id: "b" }] });
    const late = await s.subscribe("starter", "live");
    const pro = await s.subscribe("pro", "live");
    await late.sync();
    expect(late.inbox.filter(ofType("live")).map((m: Json) => [m.seq, m.games])).toEqual([[1, [{ game_id: "a" }]]]);
    expect(pro.inbox.filter(ofType("live")).map((m: Json) => [m.seq, m.games])).toEqual([[2, [{ game_id: "b" }]]]);
    s.clock.advance(DELAY);
    await late.sync();
    expect(late.inbox.filter(ofType("live")).map((m: Json) => m.seq)).toEqual([1, 2]);
  });

  test("an event topic: a starter's snapshot is as of its tier's last message", async () => {
    const all: number[][] = [];
    const uptoBySeq = [0];
    const s = await tiered({ snapshot: (_t, seq) => ({ type: "ticks", game_id: "g1", ticks: all.slice(0, uptoBySeq[seq] ?? 0) }) });
    s.hub.onPublish((e) => { if (e.topic === "live:g1") uptoBySeq[e.seq] = e.state.upto as number; });
    const emit = (t: number) => {
      all.push([t, 0.5, 0.5]);
      s.hub.emit("live:g1", { type: "ticks", game_id: "g1", ticks: [[t, 0.5, 0.5]], upto: all.length });
    };
    emit(1);
    s.clock.advance(DELAY);
    emit(2);
    const starter = await s.subscribe("starter", "live:g1");
    await starter.sync();
    expect(starter.inbox.filter(ofType("ticks")).map((m) => [m.seq, m.ticks.length])).toEqual([[1, 1]]);
    s.clock.advance(DELAY);
    await starter.sync();
    expect(starter.inbox.filter(ofType("ticks")).flatMap((m) => m.ticks.map((x: number[]) => x[0]))).toEqual([1, 2]);
  });

  test("unsubscribing a starter stops its copy; pro sockets are not delayed on topics the delay does not cover", async () => {
    const s = await tiered();
    const starter = await s.subscribe("starter", "signals");
    starter.send({ type: "unsubscribe", topic: "signals" });
    await starter.next(ofType("unsubscription_confirmed"));
    s.hub.emit("signals", signal(1));
    s.clock.advance(DELAY);
    await starter.sync();
    expect(starter.inbox.filter(ofType("signal"))).toEqual([]);
    expect(s.registry.status().connections[0].topics).toEqual([]);
  });
});
