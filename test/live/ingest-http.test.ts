// POST /api/live/ticks, settle and the list over HTTP: bad input of every rule of live.md is a
// clear 4xx with `line L: reason`, nothing of the request is stored, and the server keeps
// answering; a viewer cannot ingest.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/database";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";
import { addStrategy } from "./helpers";

const nd = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const NDJSON = { "content-type": "application/x-ndjson" };

async function counts(database: Database) {
  const [r] = await database.rows<{ g: number; t: number; s: number }>(sql`select
    (select count(*)::int from live_games) as g, (select coalesce(sum(count), 0)::int from live_tick_chunks) as t, (select coalesce(sum(count), 0)::int from signal_runs) as s`);
  return r;
}

forEachDatabase("live ingest over HTTP", (db) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startTestServer({ database: db() });
    await addStrategy(db(), "s", 0.05, 0.01, 0);
    const res = await fetch(`${server.url}/api/live/ticks`, {
      method: "POST", headers: NDJSON,
      body: nd([{ game_id: "g1", t: 1, price: 0.5, fair: 0.6 }, { game_id: "g1", t: 2, price: 0.55, fair: 0.5 }]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ticks: 2, games: 1, signals: 2 });
  });
  afterEach(() => stopTestServer(server));

  const post = (body: BodyInit, headers: Record<string, string> = NDJSON) => fetch(`${server.url}/api/live/ticks`, { method: "POST", headers, body });

  test("a JSON array and NDJSON without a type are ingested; the list shows the last tick", async () => {
    const a = await post(JSON.stringify([{ game_id: "g2", t: 5, price: 0.3, fair: 0.3 }, { game_id: "g1", t: 3, price: 0.5, fair: 0.5 }]), { "content-type": "application/json" });
    expect(a.status).toBe(200);
    expect(await a.json()).toEqual({ ticks: 2, games: 2, signals: 0 });
    const b = await post(nd([{ game_id: "g2", t: 6, price: "0.31", fair: 0.3 }]), {});
    expect(b.status).toBe(200);
    const list = await (await fetch(`${server.url}/api/live/games`)).json();
    expect(list.games.map((g: { game_id: string; ticks: number; t: number; price: number }) => [g.game_id, g.ticks, g.t, g.price])).toEqual([["g1", 3, 3, 0.5], ["g2", 2, 6, 0.31]]);
  });

  const BAD: [string, string, number, string][] = [
    ["t not after the stored last tick", nd([{ game_id: "g9", t: 1, price: 0.5, fair: 0.5 }, { game_id: "g1", t: 2, price: 0.5, fair: 0.5 }]), 422, "line 2: t 2 is not after the game's last tick (t 2)"],
    ["t not after an earlier tick of the request", nd([{ game_id: "g9", t: 5, price: 0.5, fair: 0.5 }, { game_id: "g9", t: 4, price: 0.5, fair: 0.5 }]), 422, "line 2: t 4 is not after"],
    ["price 1.5", nd([{ game_id: "g9", t: 1, price: 0.5, fair: 0.5 }, { game_id: "g9", t: 2, price: 1.5, fair: 0.5 }]), 422, "line 2: price 1.5 is outside [0, 1]"],
    ["NaN", '{"game_id":"g9","t":1,"price":"NaN","fair":0.5}\n', 422, 'line 1: price is not a number: "NaN"'],
    ["a bare NaN", '{"game_id":"g9","t":1,"price":NaN,"fair":0.5}\n', 422, "line 1: invalid JSON"],
    ["a missing field", nd([{ game_id: "g9", t: 1, price: 0.5 }]), 422, 'line 1: missing key "fair"'],
    ["a wrong type", nd([{ game_id: "g9", t: [1], price: 0.5, fair: 0.5 }]), 422, "line 1: t is not a number"],
    ["an object id", nd([{ game_id: { a: 1 }, t: 1, price: 0.5, fair: 0.5 }]), 422, "line 1: game_id is not a string"],
    ["malformed JSON", '{"game_id":"g9","t":1,\n', 422, "line 1: invalid JSON"],
    ["a NUL game id", nd([{ game_id: "a\u0000b", t: 1, price: 0.5, fair: 0.5 }]), 422, "line 1: game_id"],
    ["a formula game id", nd([{ game_id: "=cmd()", t: 1, price: 0.5, fair: 0.5 }]), 422, 'line 1: game_id "=cmd()" starts with "="'],
    ["a lone surrogate id", '{"game_id":"x\\ud800","t":1,"price":0.5,"fair":0.5}\n', 422, "line 1: game_id"],
    ["a 201-character id", nd([{ game_id: "x".repeat(201), t: 1, price: 0.5, fair: 0.5 }]), 422, "line 1: game_id is longer than 200"],
    ["an empty body", "", 422, "line 1: no ticks"],
    ["a 10 MB line", `{"game_id":"g9","t":1,"price":0.5,"fair":0.5,"pad":"${"x".repeat(10 << 20)}"}\n`, 413, "line 1: line longer than"],
    ["a line that is no object", "[1]\n", 422, "line 1: expected a JSON object"],
  ];
  for (const [name, body, status, detail] of BAD) {
    test(`${name}: ${status}, nothing applied, server up`, async () => {
      const before = await counts(db());
      const res = await post(body);
      expect(res.status).toBe(status);
      expect((await res.json()).detail).toStartWith(detail);
      expect(await counts(db())).toEqual(before);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    });
  }

  test("100,000 games in one request: 413, nothing applied", async () => {
    const before = await counts(db());
    const rows = Array.from({ length: 100_000 }, (_, i) => `{"game_id":"m${i}","t":1,"price":0.5,"fair":0.5}`).join("\n");
    const res = await post(rows);
    expect(res.status).toBe(413);
    expect((await res.json()).detail).toBe("line 10001: more than 10000 games in one request");
    expect(await counts(db())).toEqual(before);
  });

  test("a settled game takes no ticks; settle twice is 409, an unknown game 404, a bad outcome 422", async () => {
    const s = await fetch(`${server.url}/api/live/games/g1/settle`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"outcome":1}' });
    expect(s.status).toBe(200);
    expect(await s.json()).toEqual({ game_id: "g1", ticks: 2, signals: 0 });
    const before = await counts(db());
    const late = await post(nd([{ game_id: "g1", t: 9, price: 0.5, fair: 0.5 }]));
    expect(late.status).toBe(422);
    expect((await late.json()).detail).toBe('line 1: game "g1" is settled; it takes no more ticks');
    const again = await fetch(`${server.url}/api/live/games/g1/settle`, { method: "POST", body: '{"outcome":1}' });
    expect(again.status).toBe(409);
    const unknown = await fetch(`${server.url}/api/live/games/nope/settle`, { method: "POST", body: '{"outcome":1}' });
    expect(unknown.status).toBe(404);
    const nul = await fetch(`${server.url}/api/live/games/a%00b/settle`, { method: "POST", body: '{"outcome":1}' });
    expect(nul.status).toBe(422);
    await post(nd([{ game_id: "g3", t: 1, price: 0.5, fair: 0.5 }]));
    for (const body of ['{"outcome":2}', '{"outcome":"1"}', "{}", "[1]"]) {
      const r = await fetch(`${server.url}/api/live/games/g3/settle`, { method: "POST", body });
      expect(r.status).toBe(422);
    }
    expect((await fetch(`${server.url}/api/live/games/g3/settle`, { method: "POST", body: "{outcome" })).status).toBe(400);
    const after = await counts(db());
    expect(after.s).toBe(before.s);
    expect(after.g).toBe(before.g + 1);
    const list = await (await fetch(`${server.url}/api/live/games`)).json();
    expect(list.games.map((g: { game_id: string }) => g.game_id)).toEqual(["g3"]);
    const stored = await (await fetch(`${server.url}/api/games`)).json();
    expect(stored.games.map((g: { id: string; outcome: number }) => [g.id, g.outcome])).toEqual([["g1", 1]]);
  });
});

forEachDatabase("live ingest access", (db) => {
  test("a viewer cannot ingest or settle; an operator can", async () => {
    const server = await startAuthServer({ database: db() });
    try {
      // Pro: a starter viewer would see the game only --starter-delay-ms later (tiers.test.ts).
      const viewer = await makeToken(server, "viewer", { tier: "pro" });
      const operator = await makeToken(server, "operator");
      const body = nd([{ game_id: "g1", t: 1, price: 0.5, fair: 0.5 }]);
      const v = await fetch(`${server.url}/api/live/ticks`, { method: "POST", headers: { ...NDJSON, authorization: viewer.bearer }, body });
      expect(v.status).toBe(403);
      expect((await counts(db())).t).toBe(0);
      const o = await fetch(`${server.url}/api/live/ticks`, { method: "POST", headers: { ...NDJSON, authorization: operator.bearer }, body });
      expect(o.status).toBe(200);
      const vs = await fetch(`${server.url}/api/live/games/g1/settle`, { method: "POST", headers: { authorization: viewer.bearer }, body: '{"outcome":0}' });
      expect(vs.status).toBe(403);
      const list = await fetch(`${server.url}/api/live/games`, { headers: { authorization: viewer.bearer } });
      expect(list.status).toBe(200);
      expect((await list.json()).games.length).toBe(1);
    } finally {
      await stopTestServer(server);
    }
  });
});
