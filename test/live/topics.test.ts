// The topics of live.md on a real daemon, fed by HTTP ingest, on the injected clock: a `live:{g}`
// subscriber gets every tick exactly once and in order (also one that joins mid-game, and one
// that joins after a restart), `settled` last; `signals` and `signals:{id}` carry each signal
// once in id order; `live` shows the games; unknown ids are unknown topics and the socket stays
// open; a starter identity gets each signal, and the HTTP reads, no earlier than the delay.
import { afterEach, describe, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/lifecycle";
import { Client, closeAll, ofType, type Json } from "../realtime/harness";
import { FakeClock } from "../realtime/fakes";
import { forEachDatabase } from "../support/db";
import { randomGames } from "../support/reference";
import { makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";
import { interleave } from "./helpers";

const NDJSON = { "content-type": "application/x-ndjson" };
const nd = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const TICK_MS = 50;

let servers: RunningServer[] = [];
afterEach(async () => {
  await closeAll();
  for (const s of servers.splice(0)) await stopTestServer(s);
});

/** A /ws client subscribed to `topic`; the server's reply (confirmation or error) is put back at the head of its inbox. */
async function subscribe(server: RunningServer, topic: string, headers?: Record<string, string>): Promise<Client> {
  const c = await Client.connect(`${server.url.replace("http", "ws")}/ws`, headers);
  await c.next(ofType("welcome"));
  c.send({ type: "subscribe", topic });
  c.inbox.unshift(await c.next((m) => m.type === "subscription_confirmed" || m.type === "error"));
  return c;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

const ticksOf = (c: Client, game: string) => c.inbox.filter((m) => m.type === "ticks" && m.game_id === game);

forEachDatabase("live topics", (db) => {
  test("live:{g}: every tick exactly once, in order, in batches of a tick; a late subscriber's snapshot joins without a gap; settled last", async () => {
    const clock = new FakeClock();
    const server = await startTestServer({ database: db(), clock, flags: ["--tick-ms", String(TICK_MS)] });
    servers.push(server);
    const { games } = randomGames(3, 7);
    const stream = interleave(games, 11);
    const post = async (rows: object[]) => {
      const r = await fetch(`${server.url}/api/live/ticks`, { method: "POST", headers: NDJSON, body: nd(rows) });
      expect(r.status).toBe(200);
    };
    const target = games[0].id;
    await post(stream.slice(0, 1)); // the games exist before anyone subscribes
    const first = stream.findIndex((t) => t.game_id === target);
    if (first > 0) await post(stream.slice(1, first + 1));
    const early = await subscribe(server, `live:${target}`);
    let late: Client | undefined;
    const rnd = rng(5);
    let i = first + 1;
    while (i < stream.length) {
      const n = 1 + Math.floor(rnd() * 12);
      await post(stream.slice(i, i + n));
      i += n;
      if (rnd() < 0.5) clock.advance(TICK_MS);
      if (!late && i > stream.length / 2) late = await subscribe(server, `live:${target}`);
    }
    clock.advance(TICK_MS);
    const settle = await fetch(`${server.url}/api/live/games/${target}/settle`, { method: "POST", body: JSON.stringify({ outcome: 1 }) });
    expect(settle.status).toBe(200);
    await early.next(ofType("settled"));
    await late!.next(ofType("settled"));
    const expected = games[0].ticks.map((t) => [t.t, t.price, t.fair]);
    for (const c of [early, late!]) {
      const msgs = ticksOf(c, target);
      expect(msgs.flatMap((m) => m.ticks)).toEqual(expected);
      const seqs = msgs.map((m) => m.seq);
      // The snapshot carries the seq it is as of; every later message one more.
      for (let k = 1; k < seqs.length; k++) expect(seqs[k]).toBe(seqs[k - 1] + 1);
      expect(msgs.every((m) => m.topic === `live:${target}`)).toBe(true);
    }
    // Batched: fewer messages than ticks, at most one per tick interval after the first.
    expect(ticksOf(early, target).length).toBeLessThan(expected.length);
    // After settlement the game has left `live`.
    const state = await subscribe(server, "live");
    const live = await state.next(ofType("live"));
    expect(live.games.map((g: Json) => g.game_id)).not.toContain(target);
    expect(live.games.length).toBe(games.length - 1);
  });

  test("signals and signals:{id}: each signal once, in id order, as stored; unknown ids are unknown topics and the socket stays open", async () => {
    const clock = new FakeClock();
    const server = await startTestServer({ database: db(), clock });
    servers.push(server);
    const deploy = async (entry: number, exit: number) => {
      const r = await fetch(`${server.url}/api/strategies`, { method: "POST", body: JSON.stringify({ name: `s${entry}`, entry, exit, fee: 0 }) });
      expect(r.status).toBe(201);
      return (await r.json()).id as number;
    };
    const a = await deploy(0.05, 0.01);
    const b = await deploy(0.1, 0.02);
    const all = await subscribe(server, "signals");
    const onlyB = await subscribe(server, `signals:${b}`);
    const bad = await subscribe(server, "signals:999999");
    expect(bad.inbox.find(ofType("error"))?.message).toContain("unknown topic");
    bad.send({ type: "subscribe", topic: "live:no-such-game" });
    expect((await bad.next(ofType("error"))).message).toContain("unknown topic");
    await bad.sync(); // still open and answering
    const { games } = randomGames(4, 3);
    const stream = interleave(games, 2);
    for (let i = 0; i < stream.length; i += 25) {
      const r = await fetch(`${server.url}/api/live/ticks`, { method: "POST", headers: NDJSON, body: nd(stream.slice(i, i + 25)) });
      expect(r.status).toBe(200);
    }
    for (const g of games) await fetch(`${server.url}/api/live/games/${g.id}/settle`, { method: "POST", body: JSON.stringify({ outcome: g.outcome }) });
    const stored = (await (await fetch(`${server.url}/api/signals?limit=1000`)).json()).signals as Json[];
    expect(stored.length).toBeGreaterThan(0);
    await all.sync();
    await onlyB.sync();
    const got = all.inbox.filter(ofType("signal"));
    expect(got.map((m) => m.signal)).toEqual(stored);
    expect(got.map((m) => m.seq)).toEqual(got.map((_, k) => k + 1));
    expect(onlyB.inbox.filter(ofType("signal")).map((m) => m.signal)).toEqual(stored.filter((s) => s.strategy_id === b));
    expect(stored.some((s) => s.strategy_id === a)).toBe(true);
  });

  test("hostile and malformed live topics are unknown topics: an error each, the socket stays open, nothing leaks", async () => {
    const server = await startTestServer({ database: db() });
    servers.push(server);
    expect((await fetch(`${server.url}/api/live/ticks`, { method: "POST", headers: NDJSON, body: nd([{ game_id: "ok", t: 1, price: 0.5, fair: 0.5 }]) })).status).toBe(200);
    const c = await subscribe(server, "live:ok");
    await c.next(ofType("subscription_confirmed"));
    const topics = [
      "live:", "live:<script>alert(1)</script>", "live:ok\u0000", "live:\ud800", "live:OK", "live: ok", "live:ok:extra",
      "signals:", "signals:0", "signals:-1", "signals:1e3", "signals:01", "signals:abc", "signals:99999999999", "signals:1.5",
      "live:" + "x".repeat(195), "Live", "signals ",
    ];
    for (const topic of topics) {
      c.send({ type: "subscribe", topic });
      const reply = await c.next((m) => m.type === "error" || m.type === "subscription_confirmed");
      expect([topic, reply.type]).toEqual([topic, "error"]);
      expect(reply.message).toMatch(/unknown topic|topic/);
    }
    await c.sync();
    expect(c.isClosed).toBe(false);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  test("after a restart a subscriber gets the game's ticks so far, then the new ones", async () => {
    const clock = new FakeClock();
    const first = await startTestServer({ database: db(), clock });
    const rows = [1, 2, 3].map((t) => ({ game_id: "rs", t, price: 0.5, fair: 0.5 + t / 100 }));
    expect((await fetch(`${first.url}/api/live/ticks`, { method: "POST", headers: NDJSON, body: nd(rows) })).status).toBe(200);
    await stopTestServer(first);
    const second = await startTestServer({ database: db(), clock });
    servers.push(second);
    const c = await subscribe(second, "live:rs");
    const snap = await c.next(ofType("ticks"));
    expect(snap.ticks).toEqual(rows.map((r) => [r.t, r.price, r.fair]));
    expect((await fetch(`${second.url}/api/live/ticks`, { method: "POST", headers: NDJSON, body: nd([{ game_id: "rs", t: 4, price: 0.4, fair: 0.4 }]) })).status).toBe(200);
    expect((await c.next(ofType("ticks"))).ticks).toEqual([[4, 0.4, 0.4]]);
  });
});

forEachDatabase("live tiers", (db) => {
  describe("a starter identity", () => {
    test("gets each signal the delay after a pro one, same seq and bytes, never earlier; HTTP reads hold back what is younger", async () => {
      const clock = new FakeClock();
      const delay = 15_000;
      const server = await startAuthServer({ database: db(), clock, flags: ["--starter-delay-ms", String(delay)] });
      servers.push(server);
      const operator = await makeToken(server, "operator", { tier: "pro" });
      const pro = await makeToken(server, "viewer", { name: "pro", tier: "pro" });
      const starter = await makeToken(server, "viewer", { name: "starter", tier: "starter" });
      const auth = (t: { bearer: string }) => ({ authorization: t.bearer });
      const dep = await fetch(`${server.url}/api/strategies`, { method: "POST", headers: auth(operator), body: JSON.stringify({ name: "s", entry: 0.05, exit: 0.01, fee: 0 }) });
      expect(dep.status).toBe(201);
      const proWs = await subscribe(server, "signals", auth(pro));
      const starterWs = await subscribe(server, "signals", auth(starter));
      const rawPro: string[] = [];
      const rawStarter: string[] = [];
      proWs.raw.addEventListener("message", (e) => rawPro.push(String(e.data)));
      starterWs.raw.addEventListener("message", (e) => rawStarter.push(String(e.data)));
      const ingest = await fetch(`${server.url}/api/live/ticks`, {
        method: "POST", headers: { ...NDJSON, ...auth(operator) },
        body: nd([{ game_id: "g", t: 1, price: 0.5, fair: 0.6 }, { game_id: "g", t: 2, price: 0.55, fair: 0.5 }]),
      });
      expect(await ingest.json()).toEqual({ ticks: 2, games: 1, signals: 2 });
      await proWs.next(ofType("signal"));
      const read = async (path: string, who: { bearer: string }) => (await fetch(`${server.url}${path}`, { headers: auth(who) })).json();
      expect((await read("/api/signals", starter)).signals).toEqual([]);
      expect((await read("/api/live/games", starter)).games).toEqual([]);
      expect((await read("/api/signals", pro)).signals.length).toBe(2);
      clock.advance(delay - 1);
      await starterWs.sync();
      expect(starterWs.inbox.filter(ofType("signal"))).toEqual([]);
      expect((await read("/api/signals", starter)).signals).toEqual([]);
      clock.advance(1);
      await starterWs.next(ofType("signal"));
      await starterWs.sync();
      expect(rawStarter.filter((t) => t.includes('"type":"signal"'))).toEqual(rawPro.filter((t) => t.includes('"type":"signal"')));
      expect((await read("/api/signals", starter)).signals.length).toBe(2);
      const games = (await read("/api/live/games", starter)).games;
      expect(games.map((g: Json) => [g.game_id, g.ticks, g.t])).toEqual([["g", 2, 2]]);
    });

    test("the live games list holds a game at the tick it had the delay ago", async () => {
      const clock = new FakeClock();
      const server = await startAuthServer({ database: db(), clock, flags: ["--starter-delay-ms", "10000"] });
      servers.push(server);
      const operator = await makeToken(server, "operator", { tier: "pro" });
      const starter = await makeToken(server, "viewer", { name: "starter", tier: "starter" });
      const post = (t: number) => fetch(`${server.url}/api/live/ticks`, {
        method: "POST", headers: { ...NDJSON, authorization: operator.bearer }, body: nd([{ game_id: "h", t, price: 0.5, fair: 0.5 }]),
      });
      await post(1);
      clock.advance(6000);
      await post(2);
      clock.advance(6000); // tick 1 is 12 s old, tick 2 is 6 s old
      const list = await (await fetch(`${server.url}/api/live/games`, { headers: { authorization: starter.bearer } })).json();
      expect(list.games.map((g: Json) => [g.game_id, g.ticks, g.t])).toEqual([["h", 1, 1]]);
    });
  });
});
