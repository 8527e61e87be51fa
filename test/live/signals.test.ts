// GET /api/signals (live.md "Signals"): signals in id order, filtered by strategy and game, paged
// with after and limit; bad parameters are a 422 naming the parameter; an unknown strategy or
// game is an empty list (a filter that matches nothing), not an error.
import { afterEach, expect, test } from "bun:test";
import { ingestTicks } from "../../src/live/ingest";
import { settleGame } from "../../src/live/settle";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { startTestServer, stopTestServer } from "../support/server";

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) await stopTestServer(server);
  server = undefined;
});

interface Sig { id: number; strategy_id: number; game_id: string; action: string; t: number; price: number; fair: number; edge: number; pnl: number | null; at: string }

// Edges 0.1, 0, -0.1, 0, 0.1: with entry 0.05 / exit 0.01 each game opens long, closes, opens
// short, closes, opens long again (five signals) and, once settled, settles at the outcome.
const EDGES = [0.1, 0, -0.1, 0, 0.1];
const ticksOf = (game: string) => EDGES.map((e, i) => ({ game_id: game, t: i + 1, price: 0.5, fair: 0.5 + e }));

forEachDatabase("signals API", (db) => {
  async function setUp() {
    server = await startTestServer({ database: db() });
    const post = (body: unknown) => fetch(`${server!.url}/api/strategies`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    const a = (await (await post({ name: "a", entry: 0.05, exit: 0.01 })).json()).id as number;
    const b = (await (await post({ name: "b", entry: 0.05, exit: 0.01, fee: 0.01 })).json()).id as number;
    await ingestTicks(db(), [...ticksOf("g1"), ...ticksOf("g2")]);
    await settleGame(db(), "g1", 1);
    return { a, b };
  }
  const get = async (query: string) => {
    const res = await fetch(`${server!.url}/api/signals${query}`);
    return { status: res.status, body: await res.json() };
  };

  test("signals in id order with every field; by strategy, by game, and both", async () => {
    const { a, b } = await setUp();
    const all = (await get("")).body.signals as Sig[];
    // g2 is not settled: 5 signals per strategy there, 6 on g1.
    expect(all).toHaveLength(22);
    expect(all.map((s) => s.id)).toEqual([...all.map((s) => s.id)].sort((x, y) => x - y));
    const mine = (await get(`?strategy=${a}&game=g1`)).body.signals as Sig[];
    expect(mine.map((s) => s.action)).toEqual(["open_long", "close", "open_short", "close", "open_long", "settle"]);
    expect(mine[0]).toEqual({ id: expect.any(Number), strategy_id: a, game_id: "g1", action: "open_long", t: 1, price: 0.5, fair: 0.6, edge: expect.closeTo(0.1, 12), pnl: null, at: expect.stringMatching(/Z$/) });
    expect(mine.at(-1)).toMatchObject({ action: "settle", price: 1, pnl: 0.5 });
    expect((await get(`?strategy=${b}`)).body.signals.every((s: Sig) => s.strategy_id === b)).toBe(true);
    expect((await get(`?strategy=${b}`)).body.signals).toHaveLength(11);
    expect((await get("?game=g2")).body.signals.every((s: Sig) => s.game_id === "g2")).toBe(true);
    // The close and settle pnl of a settled game sum to strategy.md's figure, fee included.
    const bOnG1 = (await get(`?strategy=${b}&game=g1`)).body.signals as Sig[];
    const sum = bOnG1.reduce((t, s) => t + (s.pnl ?? 0), 0);
    expect(Math.abs(sum - ((0 - 0.02) + (0 - 0.02) + (0.5 - 0.01)))).toBeLessThan(1e-12);
  });

  test("paging with after and limit walks every signal once, in order", async () => {
    await setUp();
    const all = (await get("?limit=1000")).body.signals as Sig[];
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = (await get(`?after=${after}&limit=5`)).body.signals as Sig[];
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(5);
      seen.push(...page.map((s) => s.id));
      after = page.at(-1)!.id;
    }
    expect(seen).toEqual(all.map((s) => s.id));
    expect((await get("?limit=1")).body.signals).toHaveLength(1);
    expect((await get(`?after=${all.at(-1)!.id}`)).body.signals).toEqual([]);
  });

  test("bad parameters are a 422 naming the parameter; unknown strategy or game is an empty list", async () => {
    await setUp();
    for (const [query, detail] of [
      ["?limit=0", "limit: must be an integer from 1 to 1000"],
      ["?limit=1001", "limit: must be an integer from 1 to 1000"],
      ["?limit=abc", "limit"],
      ["?limit=1e2", "limit"],
      ["?limit=", "limit"],
      ["?after=-1", "after"],
      ["?after=0x10", "after"],
      ["?strategy=abc", "strategy"],
      ["?strategy=0", "strategy"],
      ["?game=a%00b", "game: game id"],
      ["?game=", "game: game id"],
    ] as const) {
      const r = await get(query);
      expect({ query, status: r.status }).toEqual({ query, status: 422 });
      expect(r.body.detail).toContain(detail);
    }
    expect(await get("?strategy=999")).toEqual({ status: 200, body: { signals: [] } });
    expect(await get("?game=no-such-game")).toEqual({ status: 200, body: { signals: [] } });
    expect((await fetch(`${server!.url}/health`)).status).toBe(200);
  });
});
