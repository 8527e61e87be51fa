// The live bridge between two nodes' feeds (src/live/cluster-bridge.ts), on one store, over a bus
// the test delivers by hand: so it can lose messages, as a dropped LISTEN connection does. Each
// node publishes every signal and tick once and in store order: what it heard of is read from the
// store, a local commit after a gap fills the gap first, and a resync re-reads what was lost.
import { expect, test } from "bun:test";
import type { BusMessage, ClusterBus } from "../../src/cluster/bus";
import type { Database } from "../../src/db/database";
import { createLiveBridge } from "../../src/live/cluster-bridge";
import { LiveFeed, SIGNALS_TOPIC, type TickTriple } from "../../src/live/feed";
import { LiveService } from "../../src/live/service";
import { allSignals } from "../../src/live/signals";
import { silentLogger } from "../../src/log/logger";
import { createHub } from "../../src/realtime";
import { FakeClock, FakeTransport } from "../realtime/fakes";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { randomGames } from "../support/reference";

/** A bus whose sends wait in `outbox` until the test delivers (or loses) them. */
function handBus(self: string) {
  const handlers = new Map<string, ((m: BusMessage, from: string) => void)[]>();
  const resyncs: (() => void)[] = [];
  const outbox: BusMessage[] = [];
  const bus: ClusterBus = {
    self,
    send: (m) => void outbox.push(m),
    on: (t, h) => void handlers.set(t, [...(handlers.get(t) ?? []), h]),
    onResync: (h) => void resyncs.push(h),
    status: () => ({ listening: true, sent: 0, notifications: 0, received: 0, dropped: 0, rejected: 0 }),
    start: async () => {},
    stop: async () => {},
  };
  const hear = (m: BusMessage, from: string) => { for (const h of handlers.get(m.t) ?? []) h(m, from); };
  return { bus, outbox, hear, resync: () => resyncs.forEach((h) => h()) };
}

/** A node: a hub of its own, its feed and service, what it published on `signals` and on each game's topic. */
async function node(self: string, database: Database) {
  const clock = new FakeClock();
  const hub = createHub({ transport: new FakeTransport(), clock, tickMs: 50 });
  const feed = new LiveFeed({ hub, database: () => database });
  const wire = handBus(self);
  const bridge = createLiveBridge({ feed, bus: wire.bus, database: () => database, logger: silentLogger });
  const service = new LiveService({ database: () => database, feed, publisher: bridge, starterDelayMs: 0 });
  const signals: { seq: number; id: number }[] = [];
  const ticks = new Map<string, TickTriple[]>();
  let settled = 0;
  hub.onPublish((e) => {
    if (e.topic === SIGNALS_TOPIC) signals.push({ seq: e.seq, id: (e.state.signal as { id: number }).id });
    else if (e.topic.startsWith("live:") && e.state.type === "ticks") {
      const g = e.topic.slice(5);
      ticks.set(g, [...(ticks.get(g) ?? []), ...(e.state.ticks as TickTriple[])]);
    } else if (e.topic.startsWith("live:") && e.state.type === "settled") settled++;
  });
  await feed.load(database);
  return { self, hub, feed, service, signals, ticks, wire, settled: () => settled, flush: () => hub.flushNow() };
}
type Node = Awaited<ReturnType<typeof node>>;

/** Hands what `from` sent to `to` (and empties from's outbox); `lose` drops it instead. */
function deliver(from: Node, to: Node, lose = false) {
  const sent = from.wire.outbox.splice(0);
  if (!lose) for (const m of sent) to.wire.hear(m, from.self);
}

/** Lets the receiving node's store reads (under its live lock) finish. */
const settle = (n: Node, what: () => boolean) => eventually(() => { n.flush(); return what(); }, { what: `${n.self}: caught up` });

forEachDatabase("live bridge between nodes", (db) => {
  async function setup() {
    const a = await node("a", db());
    const b = await node("b", db());
    await a.service.deploy({ name: "s1", entry: 0.02, exit: 0.005, fee: 0 }, null);
    deliver(a, b);
    await a.service.deploy({ name: "s2", entry: 0.01, exit: 0, fee: 0 }, null);
    deliver(a, b);
    await settle(b, () => b.feed.knownStrategies().length === 2);
    const { games } = randomGames(2, 5);
    const row = (g: (typeof games)[0], i: number) => ({ game_id: g.id, t: g.ticks[i].t, price: g.ticks[i].price, fair: g.ticks[i].fair });
    // Both games' first ticks, then the rest of them taking turns.
    const rows = games.flatMap((g) => [0, 1, 2].map((i) => row(g, i)));
    for (let i = 3; i < Math.max(...games.map((g) => g.ticks.length)); i++) for (const g of games) if (i < g.ticks.length) rows.push(row(g, i));
    return { a, b, games, rows };
  }
  const expectOnceInOrder = async (n: Node, stored: { id: number }[]) => {
    await settle(n, () => n.signals.length >= stored.length);
    expect(n.signals.map((s) => s.id)).toEqual(stored.map((s) => s.id));
    expect(n.signals.map((s) => s.seq)).toEqual(stored.map((_, k) => k + 1));
  };

  test("ingest alternating between the nodes, every message delivered: both publish each signal and tick once, in order", async () => {
    const { a, b, games, rows } = await setup();
    for (let i = 0, k = 0; i < rows.length; i += 9, k++) {
      const [from, to] = k % 2 === 0 ? [a, b] : [b, a];
      await from.service.ingest(rows.slice(i, i + 9));
      deliver(from, to);
    }
    await b.service.settle(games[0].id, games[0].outcome as 0 | 1);
    deliver(b, a);
    const stored = await allSignals(db());
    expect(stored.length).toBeGreaterThan(4);
    for (const n of [a, b]) {
      await expectOnceInOrder(n, stored);
      await settle(n, () => n.settled() === 1);
      for (const g of games) expect(n.ticks.get(g.id)).toEqual(g.ticks.map((tk) => [tk.t, tk.price, tk.fair]));
      expect(n.feed.outcomeOf(games[0].id)).toBe(games[0].outcome as 0 | 1);
    }
  });

  test("messages lost: a local commit after the gap publishes the missed ones first; a resync reads the rest", async () => {
    const { a, b, games, rows } = await setup();
    await a.service.ingest(rows.slice(0, 6));
    deliver(a, b); // b knows both games
    const half = Math.floor(rows.length / 2);
    await a.service.ingest(rows.slice(6, half));
    deliver(a, b, true); // lost: b never hears of them
    await b.service.ingest(rows.slice(half, half + 3));
    // b published a's signals and ticks from the store before its own.
    const upToNow = await allSignals(db());
    await expectOnceInOrder(b, upToNow);
    await a.service.ingest(rows.slice(half + 3));
    deliver(a, b, true);
    await a.service.settle(games[1].id, games[1].outcome as 0 | 1);
    deliver(a, b, true);
    b.wire.resync(); // as after the LISTEN connection came back
    const stored = await allSignals(db());
    await expectOnceInOrder(b, stored);
    await settle(b, () => b.settled() === 1);
    for (const g of games) expect(b.ticks.get(g.id)).toEqual(g.ticks.map((tk) => [tk.t, tk.price, tk.fair]));
    expect(b.feed.outcomeOf(games[1].id)).toBe(games[1].outcome as 0 | 1);
    // a heard b's commit late: it fills in from the store once.
    deliver(b, a);
    await expectOnceInOrder(a, stored);
  });

  test("a commit of more games than a message should list tells the others to re-read the live games: one message, every game's ticks", async () => {
    const { a, b } = await setup();
    const rows = Array.from({ length: 150 }, (_, g) => [1, 2].map((t) => ({ game_id: `many-${g}`, t, price: 0.5, fair: 0.5 }))).flat();
    await a.service.ingest(rows);
    expect(a.wire.outbox.filter((m) => m.t === "ticks")).toEqual([{ t: "ticks", all: true }]);
    deliver(a, b);
    await settle(b, () => b.feed.liveGames().length === 150);
    for (let g = 0; g < 150; g++) expect(b.ticks.get(`many-${g}`)).toEqual([[1, 0.5, 0.5], [2, 0.5, 0.5]]);
  });

  test("a message naming what is not there, or repeating what was published, changes nothing", async () => {
    const { a, b, rows } = await setup();
    await a.service.ingest(rows.slice(0, 10));
    const sent = a.wire.outbox.splice(0);
    for (let i = 0; i < 3; i++) for (const m of sent) b.wire.hear(m, "a");
    for (const m of [{ t: "ticks", game: "no-such", n: 5 }, { t: "signals", seq: 10 ** 9 }, { t: "settled", game: "no-such", outcome: 1 }, { t: "strategy", id: 999 }]) b.wire.hear(m, "a");
    const stored = await allSignals(db());
    await expectOnceInOrder(b, stored);
    expect(b.feed.outcomeOf("no-such")).toBeUndefined();
    expect(b.feed.knownStrategies().length).toBe(2);
    // A's own view is untouched by b's bus.
    expect(a.signals.map((s) => s.id)).toEqual(stored.map((s) => s.id));
  });
});
