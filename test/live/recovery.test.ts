// Recovery on a real daemon (protocol.md "History and recovery"): a subscriber that drops and comes
// back with `since` at random moments while games are fed receives every message of `live:{g}`
// and `signals` exactly once, in seq order (100 seeded rounds; the seed is in the test name and the
// failure); after a restart `signals` recovers from the store with its epoch and seq, while an
// in-memory topic says `recovered: false`; a starter recovering from the store gets nothing
// younger than the delay.
import { afterEach, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/lifecycle";
import { Client, closeAll, ofType, type Json } from "../realtime/harness";
import { FakeClock } from "../realtime/fakes";
import { forEachDatabase } from "../support/db";
import { randomGames } from "../support/reference";
import { makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";

const SEED = 20261202;
const ROUNDS = 100;
const TICK_MS = 50;

let servers: RunningServer[] = [];
afterEach(async () => {
  await closeAll();
  for (const s of servers.splice(0)) await stopTestServer(s);
});

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

/** A /ws subscriber that comes and goes: every message any of its sockets received, per topic, in arrival order. */
class Resubscriber {
  readonly log = new Map<string, Json[]>();
  readonly epochs = new Map<string, string>();
  readonly recovered: boolean[] = [];
  client: Client | null = null;

  constructor(private readonly url: string, private readonly headers?: Record<string, string>) {}

  last(topic: string): number {
    const msgs = this.log.get(topic) ?? [];
    return msgs.length ? msgs[msgs.length - 1].seq : 0;
  }

  async connect(topics: string[]): Promise<void> {
    const c = await Client.connect(this.url, this.headers);
    this.client = c;
    c.raw.addEventListener("message", (e) => {
      const m = JSON.parse(String(e.data));
      if (typeof m.topic !== "string" || m.seq === undefined || m.type === "subscription_confirmed") return;
      let list = this.log.get(m.topic);
      if (!list) this.log.set(m.topic, (list = []));
      list.push(m);
    });
    await c.next(ofType("welcome"));
    for (const topic of topics) {
      const epoch = this.epochs.get(topic);
      c.send(epoch === undefined ? { type: "subscribe", topic } : { type: "subscribe", topic, since: { epoch, seq: this.last(topic) } });
      const reply = await c.next((m) => (m.type === "subscription_confirmed" || m.type === "error") && m.topic === topic || m.type === "error");
      if (reply.type === "error") throw new Error(`subscribe ${topic}: ${reply.message}`);
      if (epoch !== undefined) this.recovered.push(reply.recovered);
      this.epochs.set(topic, reply.epoch);
    }
  }

  async drop(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (!c) return;
    c.close();
    await c.closed;
  }
}

/** Seqs one after another, nothing twice: the property the rounds check. */
function expectContiguous(msgs: Json[], what: string): void {
  const seqs = msgs.map((m) => m.seq);
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] !== seqs[i - 1] + 1) throw new Error(`${what}: seq ${seqs[i - 1]} then ${seqs[i]} (seed ${SEED}); seqs ${seqs.join(",")}`);
  }
}

forEachDatabase("recovery on a daemon", (db) => {
  test(`a subscriber dropping and resubscribing with since at random gets every message once, in order (${ROUNDS} rounds, seed ${SEED})`, async () => {
    const clock = new FakeClock();
    const server = await startTestServer({ database: db(), clock, flags: ["--tick-ms", String(TICK_MS)] });
    servers.push(server);
    await server.live.deploy({ name: "busy", entry: 0.02, exit: 0, fee: 0 }, null);
    await server.live.deploy({ name: "calm", entry: 0.08, exit: 0.02, fee: 0.01 }, null);
    const rnd = rng(SEED);
    const sub = new Resubscriber(`${server.url.replace("http", "ws")}/ws`);
    await sub.connect(["signals"]);
    const { games } = randomGames(ROUNDS, SEED);
    let drops = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const g = games[r];
      const topic = `live:${g.id}`;
      // Short games, so that a hundred rounds stay quick; every round still drops and comes back.
      g.ticks = g.ticks.slice(0, 18);
      const rows = g.ticks.map((t) => ({ game_id: g.id, ...t }));
      let i = 1 + Math.floor(rnd() * 5);
      await server.live.ingest(rows.slice(0, i));
      // The game's topic exists from its first tick: subscribe (or resubscribe to it) now.
      if (sub.client) {
        sub.client.send({ type: "subscribe", topic });
        sub.epochs.set(topic, (await sub.client.next((m) => m.type === "subscription_confirmed" && m.topic === topic)).epoch);
      } else await sub.connect(["signals", topic]);
      while (i < rows.length) {
        const n = 1 + Math.floor(rnd() * 5);
        await server.live.ingest(rows.slice(i, i + n));
        i += n;
        const roll = rnd();
        if (roll < 0.25 && sub.client) {
          await sub.drop();
          drops++;
        } else if (roll < 0.6 && !sub.client) await sub.connect(["signals", topic]);
        if (rnd() < 0.5) clock.advance(TICK_MS);
      }
      if (!sub.client) await sub.connect(["signals", topic]);
      clock.advance(TICK_MS);
      await server.live.settle(g.id, g.outcome);
      await sub.client!.next((m) => m.type === "settled" && m.topic === topic);
      // Done with this game: unsubscribe so the next rounds' resubscriptions stay small.
      sub.client!.send({ type: "unsubscribe", topic });
      await sub.client!.next(ofType("unsubscription_confirmed"));
      const msgs = sub.log.get(topic) ?? [];
      expectContiguous(msgs, `round ${r} ${topic}`);
      const ticks = msgs.filter((m) => m.type === "ticks").flatMap((m) => m.ticks);
      expect(ticks).toEqual(g.ticks.map((t) => [t.t, t.price, t.fair]));
      expect(msgs.at(-1)!.type).toBe("settled");
    }
    await sub.client!.sync();
    expect(drops).toBeGreaterThan(ROUNDS / 4);
    expect(sub.recovered.length).toBeGreaterThan(0);
    expect(sub.recovered.every((x) => x === true)).toBe(true);
    // Every signal once, in seq order, as stored.
    const signals = sub.log.get("signals") ?? [];
    expectContiguous(signals, "signals");
    const stored: Json[] = [];
    for (let after = 0; ;) {
      const page = (await (await fetch(`${server.url}/api/signals?limit=1000&after=${after}`)).json()).signals as Json[];
      if (page.length === 0) break;
      stored.push(...page);
      after = page.at(-1)!.id;
    }
    expect(signals.map((m) => m.signal)).toEqual(stored);
    expect(signals[0].seq).toBe(1);
  });

  test("after a restart signals recover from the store with their epoch and seq; an in-memory topic does not", async () => {
    const clock = new FakeClock();
    const first = await startTestServer({ database: db(), clock });
    await first.live.deploy({ name: "s", entry: 0.02, exit: 0, fee: 0 }, null);
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, k) => ({ game_id: "rr", t: from + k, price: 0.5, fair: k % 2 ? 0.55 : 0.45 }));
    await first.live.ingest(rows(0, 4));
    const sub = new Resubscriber(`${first.url.replace("http", "ws")}/ws`);
    await sub.connect(["signals", "live:rr"]);
    await sub.client!.sync();
    const before = sub.last("signals");
    await sub.drop();
    await first.live.ingest(rows(4, 6)); // missed, and then the daemon restarts
    await stopTestServer(first);
    const second = await startTestServer({ database: db(), clock });
    servers.push(second);
    const back = new Resubscriber(`${second.url.replace("http", "ws")}/ws`);
    for (const [k, v] of sub.epochs) back.epochs.set(k, v);
    back.log.set("signals", [...(sub.log.get("signals") ?? [])]);
    back.log.set("live:rr", [...(sub.log.get("live:rr") ?? [])]);
    await back.connect(["signals", "live:rr"]);
    expect(back.recovered).toEqual([true, false]);
    expect(back.epochs.get("signals")).toBe(sub.epochs.get("signals"));
    expect(back.epochs.get("live:rr")).not.toBe(sub.epochs.get("live:rr"));
    await back.client!.sync();
    const signals = back.log.get("signals")!;
    expectContiguous(signals, "signals after restart");
    const stored = (await (await fetch(`${second.url}/api/signals?limit=1000`)).json()).signals as Json[];
    expect(signals.map((m) => m.signal)).toEqual(stored);
    expect(signals.length).toBeGreaterThan(before);
  });

  test("a starter recovering from the store gets nothing younger than the delay", async () => {
    const clock = new FakeClock();
    const delay = 10_000;
    const first = await startAuthServer({ database: db(), clock, flags: ["--starter-delay-ms", String(delay)] });
    const starter = await makeToken(first, "viewer", { name: "st", tier: "starter" });
    await first.live.deploy({ name: "s", entry: 0.02, exit: 0, fee: 0 }, null);
    const tick = (t: number, fair: number) => first.live.ingest([{ game_id: "sg", t, price: 0.5, fair }]);
    await tick(1, 0.55); // open
    await tick(2, 0.5); // close
    clock.advance(delay);
    const sub = new Resubscriber(`${first.url.replace("http", "ws")}/ws`, { authorization: starter.bearer });
    await sub.connect(["signals"]);
    await sub.client!.sync();
    await sub.drop();
    await tick(3, 0.56); // two more, younger than the delay when the daemon comes back
    await tick(4, 0.5);
    await stopTestServer(first);
    const second = await startAuthServer({ database: db(), clock, flags: ["--starter-delay-ms", String(delay)] });
    servers.push(second);
    const back = new Resubscriber(`${second.url.replace("http", "ws")}/ws`, { authorization: starter.bearer });
    back.epochs.set("signals", sub.epochs.get("signals")!);
    back.log.set("signals", []);
    await back.connect(["signals"]);
    await back.client!.sync();
    const got = back.log.get("signals")!;
    // The two it missed are younger than the delay: it is not handed them, and is told so.
    for (const m of got) expect(Date.parse(m.signal.at)).toBeLessThanOrEqual(clock.now() - delay);
    expect(got).toEqual([]);
    expect(back.recovered).toEqual([false]);
    const read = async () => (await (await fetch(`${second.url}/api/signals?after=0&limit=1000`, { headers: { authorization: starter.bearer } })).json()).signals as Json[];
    expect((await read()).length).toBe(2);
    clock.advance(delay);
    expect((await read()).length).toBe(4); // over HTTP once they are old enough
  });
});
