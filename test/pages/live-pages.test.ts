// The live pages (live.md "Pages"): /live and /live/{game_id} show what the live service ingested
// (games with their lines, strategies with running totals, signals newest first); the page
// sockets send the same fragments as the first load and follow new ticks, signals and the
// settlement; the replay and deploy forms go through the service, refuse bad input with a 4xx
// naming the field and leave the server answering; a viewer sees no forms and gets 403 on them;
// a completed grid search offers "Deploy this pair" to an operator.
import { afterEach, describe, expect, test } from "bun:test";
import { OPEN_IDENTITY } from "../../src/access/roles";
import type { RunningServer } from "../../src/server/lifecycle";
import { LiveFeed } from "../../src/live/feed";
import { createHub } from "../../src/realtime";
import { LivePagesFeed, LIVE_PAGE_TOPIC, liveGamePageTopic, renderLivePage } from "../../src/page-fragments/live-pages";
import { liveGamesTable, livePageFragment } from "../../views/pages/live";
import { sparkOf } from "../../views/svg/live-lines";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { makeSession, makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";
import { FakeClock, FakeTransport } from "../realtime/fakes";

const GAME = `g & "1"`;
const enc = encodeURIComponent;
/** Edge 0, then +0.1 (a long opens at entry 0.05), then +0.005 (it closes at exit 0.01), then -0.1 (a short opens). */
const TICKS = [
  { game_id: GAME, t: 1, price: 0.5, fair: 0.5 },
  { game_id: GAME, t: 2, price: 0.5, fair: 0.6 },
  { game_id: GAME, t: 3, price: 0.55, fair: 0.555 },
  { game_id: GAME, t: 4, price: 0.6, fair: 0.5 },
];

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) await stopTestServer(server);
  server = undefined;
});

const form = (body: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST", redirect: "manual" as const, body: new URLSearchParams(body).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
});

/** Every message a socket gets, as text. */
function openSocket(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers } as never);
  const messages: string[] = [];
  let closed: number | null = null;
  ws.onmessage = (e) => messages.push(String(e.data));
  ws.onclose = (e) => (closed = e.code);
  return { ws, messages, closed: () => closed };
}

describe("live page feed (a fake hub)", () => {
  test("each change sets new states, never changing one handed out; totals follow the signals", () => {
    const transport = new FakeTransport();
    const hub = createHub({ transport, clock: new FakeClock(), tickMs: 50 });
    const feed = new LiveFeed({ hub });
    const pages = new LivePagesFeed({ hub, feed, latestSignals: 2 });
    pages.attach();
    feed.strategyChanged({ id: 7, name: "s", entry: 0.05, exit: 0.01, fee: 0, status: "active", created_at: "", created_by: null, stopped_at: null });
    feed.ticksCommitted([{ game_id: "a", t: 1, price: 0.5, fair: 0.5 }], new Date(0));
    const first = hub.snapshot(LIVE_PAGE_TOPIC);
    const firstJson = JSON.stringify(first.ok && first.state);
    const sig = (id: number, action: "open_long" | "close", pnl: number | null) => ({ id, strategy_id: 7, game_id: "a", action, t: id, price: 0.5, fair: 0.6, edge: 0.1, pnl, at: "2024-01-01T00:00:00.000Z" });
    feed.ticksCommitted([{ game_id: "a", t: 2, price: 0.4, fair: 0.6 }], new Date(0));
    feed.signalsCommitted([sig(1, "open_long", null)], [{ seq: 1, strategySeq: 1 }]);
    feed.signalsCommitted([sig(2, "close", 0.25), sig(3, "open_long", null)], [{ seq: 2, strategySeq: 2 }, { seq: 3, strategySeq: 3 }]);
    expect(JSON.stringify(first.ok && first.state)).toBe(firstJson); // the first state is as it was
    const now = pages.pageState();
    expect(now.games).toEqual([expect.objectContaining({ game_id: "a", ticks: 2, price: 0.4, fair: 0.6 })]);
    expect(now.games[0].edge).toBeCloseTo(0.2, 12);
    expect(now.strategies[0]).toMatchObject({ id: 7, pnl: 0.25, trades: 1, wins: 1, open_positions: 1 });
    expect(now.signals.map((s) => s.id)).toEqual([3, 2]); // newest first, at most latestSignals
    const game = pages.gameState("a")!;
    expect(game.series.count).toBe(2);
    expect(game.signals.map((s) => s.id)).toEqual([1, 2, 3]);
    expect(JSON.parse(JSON.stringify(game)).series).toEqual({ count: 2, t: [1, 2], price: [0.5, 0.4], fair: [0.5, 0.6] });
    expect(pages.resolve(liveGamePageTopic("nope"))).toEqual({ ok: false, reason: "unknown live game" });
    expect(pages.resolve("job:x")).toBeUndefined();
    feed.settled("a", 1);
    expect(pages.pageState().games).toEqual([]);
    expect(renderLivePage(liveGamePageTopic("a"), pages.resolve(liveGamePageTopic("a"))!.ok ? pages.gameState("a")! : {})).toContain("settled: yes (1)");
  });

  test("a sparkline keeps at most 48 points, the last tick always among them", () => {
    const n = 1000;
    const s = { count: n, t: new Float64Array(n).map((_, i) => i), price: new Float64Array(n).map((_, i) => i / n), fair: new Float64Array(n) };
    const spark = sparkOf(s);
    expect(spark.price.length).toBe(48);
    expect(spark.price.at(-1)).toBe((n - 1) / n);
    const html = String(liveGamesTable({ games: [{ game_id: "<b>x</b>", ticks: n, t: 1, price: 0.5, fair: 0.5, edge: 0, spark }], more_games: 3, strategies: [], signals: [] }));
    expect(html).toContain("&lt;b&gt;x&lt;/b&gt;");
    expect(html).toContain('href="/live/%3Cb%3Ex%3C%2Fb%3E"');
    expect(html).toContain("And 3 more live games");
    expect(html).not.toContain("<b>x");
  });
});

forEachDatabase("live pages", (db) => {
  async function withGame() {
    server = await startTestServer({ database: db(), flags: ["--tick-ms", "20"] });
    const strategy = await server.live.deploy({ name: `Tom & "Jerry"`, entry: 0.05, exit: 0.01, fee: 0 }, OPEN_IDENTITY);
    await server.live.ingest(TICKS.slice(0, 3));
    return { s: server, strategy };
  }

  test("/live lists the game with its line, the strategy with its P&L and the signals newest first; /live/{id} draws the markers", async () => {
    const { s, strategy } = await withGame();
    const res = await fetch(`${s.url}/live`);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain(`href="/live/${enc(GAME)}"`);
    expect(page).toContain("g &amp; &quot;1&quot;");
    expect(page).toContain('<svg class="spark"');
    expect(page).toContain("Tom &amp; &quot;Jerry&quot;");
    expect(page).toContain("+0.0500"); // the long opened at 0.5 and closed at 0.55
    expect(page.indexOf("close</span>")).toBeLessThan(page.indexOf("open long</span>")); // newest first
    expect(page).toContain('hx-ws:connect="/pages/ws/live"');
    expect(page).toContain('action="/live/replay"');
    expect(page).toContain('action="/live/strategies"');
    expect(page).toContain('<a href="/live" aria-current="page">Live</a>');

    const game = await fetch(`${s.url}/live/${enc(GAME)}`);
    expect(game.status).toBe(200);
    const g = await game.text();
    expect(g).toContain('class="mark mark-open_long"');
    expect(g).toContain('class="mark mark-close"');
    expect(g).toContain(`open long by Tom &amp; &quot;Jerry&quot; at t=2`);
    expect(g).toContain(`hx-ws:connect="/pages/ws/live/${enc(GAME)}"`);
    expect(strategy.id).toBeGreaterThan(0);

    for (const bad of ["nope", "%00", "%ED%A0%80", "x".repeat(300)]) {
      const r = await fetch(`${s.url}/live/${bad}`);
      expect(r.status).toBe(404);
      expect(await r.text()).toContain("Not found");
    }
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  test("the page sockets first send what the first load shows, then the new ticks, signals and the settlement", async () => {
    const { s } = await withGame();
    const wsUrl = s.url.replace("http", "ws");
    const list = openSocket(`${wsUrl}/pages/ws/live`);
    const one = openSocket(`${wsUrl}/pages/ws/live/${enc(GAME)}`);
    const [firstList] = await eventually(() => list.messages.length > 0 && list.messages);
    const [firstGame] = await eventually(() => one.messages.length > 0 && one.messages);
    // The fallback fragment is the socket's message; the first load holds the same pieces.
    expect(firstList).toBe(await (await fetch(`${s.url}/pages/live`)).text());
    expect(firstGame).toBe(await (await fetch(`${s.url}/pages/live/${enc(GAME)}`)).text());
    const page = await (await fetch(`${s.url}/live`)).text();
    for (const piece of firstList.split(' hx-swap-oob="outerMorph"').join("").split(/(?=<div id="live-)/)) expect(page).toContain(piece.trim());
    const gamePage = await (await fetch(`${s.url}/live/${enc(GAME)}`)).text();
    expect(gamePage).toContain(firstGame.replace(' hx-swap-oob="outerMorph"', ""));
    expect(firstList).toStartWith('<div id="live-games" hx-swap-oob="outerMorph">');

    await s.live.ingest([TICKS[3]]);
    await eventually(() => list.messages.some((m) => m.includes("open short</span>")), { what: "the short on /live" });
    await eventually(() => one.messages.some((m) => m.includes('class="mark mark-open_short"')), { what: "the short's marker" });
    await s.live.settle(GAME, 0);
    await eventually(() => one.messages.some((m) => m.includes("settled: no (0)") && m.includes("data-terminal")), { what: "the settlement" });
    await eventually(() => list.messages.at(-1)!.includes("No live games"), { what: "the game leaving /live" });
    // The game page still answers for a while after the settlement; an unknown game's socket is refused.
    expect((await fetch(`${s.url}/live/${enc(GAME)}`)).status).toBe(200);
    const unknown = openSocket(`${wsUrl}/pages/ws/live/nope`);
    await eventually(() => unknown.closed() !== null, { what: "the unknown game's socket closing" });
    expect(unknown.closed()).toBe(1008);
    list.ws.close();
    one.ws.close();
  });

  test("forms: a replay and a deploy go through the service (303 to /live, or a notice for htmx)", async () => {
    server = await startTestServer({ database: db(), flags: ["--tick-ms", "20"] });
    const s = server;
    expect((await fetch(`${s.url}/api/games/demo?games=4&seed=3`, { method: "POST" })).status).toBe(200);
    const deployed = await fetch(`${s.url}/live/strategies`, form({ name: "fast one", entry: "0.02", exit: "0", fee: "0.001" }));
    expect(deployed.status).toBe(303);
    expect(deployed.headers.get("location")).toBe("/live");
    const byHtmx = await fetch(`${s.url}/live/strategies`, form({ name: "second", entry: "0.1", exit: "0.05" }, { "hx-request": "true" }));
    expect(byHtmx.status).toBe(200);
    expect(await byHtmx.text()).toContain("Deployed second");
    const replay = await fetch(`${s.url}/live/replay`, form({ count: "2", speed: "100000", prefix: "r-" }));
    expect(replay.status).toBe(303);
    // Both games replay and settle into stored games; the strategies traded on them.
    await eventually(async () => {
      const r = await (await fetch(`${s.url}/api/games?per_page=100`)).json() as { games: { id: string }[] };
      return r.games.filter((g) => g.id.startsWith("r-")).length === 2;
    }, { what: "the replayed games stored" });
    const page = await (await fetch(`${s.url}/live`)).text();
    expect(page).toContain("fast one");
    expect(page).toContain("second");
    expect(page).toMatch(/<a href="\/live\/r-synthetic-000[12]">/); // in the latest signals
    const ids = await (await fetch(`${s.url}/live/replay`, form({ games: "synthetic-0003\nsynthetic-0004", speed: "100000", prefix: "q-" }, { "hx-request": "true" }))).text();
    expect(ids).toContain("Replay started: 2 games (q-synthetic-0003, q-synthetic-0004)");
  });

  test("forms: bad input is a 4xx naming the field, nothing is deployed, the server keeps answering", async () => {
    server = await startTestServer({ database: db(), flags: ["--tick-ms", "20"] });
    const s = server;
    await fetch(`${s.url}/api/games/demo?games=2&seed=3`, { method: "POST" });
    const cases: [string, Record<string, string>, number, string][] = [
      ["/live/strategies", { name: "", entry: "0.1", exit: "0" }, 422, "name"],
      ["/live/strategies", { name: "<script>alert(1)</script>", entry: "0.1", exit: "0" }, 422, "name: must not contain &lt; or &gt;"],
      ["/live/strategies", { name: "nul\u0000", entry: "0.1", exit: "0" }, 422, "name: must not contain control characters"],
      ["/live/strategies", { name: "x", entry: "abc", exit: "0" }, 422, "entry"],
      ["/live/strategies", { name: "x", entry: "NaN", exit: "0" }, 422, "entry"],
      ["/live/strategies", { name: "x", entry: "0.1", exit: "0.2" }, 422, "exit"],
      ["/live/strategies", { name: "x", entry: "0.1", exit: "0", fee: "2" }, 422, "fee"],
      ["/live/strategies", { name: "x", from_job: "no-such-job" }, 404, "from_job"],
      ["/live/strategies", { name: "x", from_job: "../../etc" }, 404, "from_job"],
      ["/live/replay", { count: "abc" }, 422, "count"],
      ["/live/replay", { count: "0x10" }, 422, "count"],
      ["/live/replay", { count: "1", speed: "1e9" }, 422, "speed"],
      ["/live/replay", { count: "1", speed: "-1" }, 422, "speed"],
      ["/live/replay", { count: "1", prefix: "\u0000" }, 422, "prefix"],
      ["/live/replay", { games: "no-such-game" }, 404, "no-such-game"],
      ["/live/replay", { games: "\ud800" }, 404, ""],
    ];
    for (const [path, body, status, says] of cases) {
      const res = await fetch(`${s.url}${path}`, form(body));
      const text = await res.text();
      expect([path, JSON.stringify(body), res.status]).toEqual([path, JSON.stringify(body), status]);
      expect(text).toContain(says);
      expect(text).not.toContain("<script>alert");
    }
    // A wrong type in a form is a text where a number belongs; a repeated field takes its first value.
    const twice = await fetch(`${s.url}/live/strategies`, { ...form({}), body: "name=a&name=b&entry=0.1&entry=x&exit=0" });
    expect(twice.status).toBe(303);
    const list = await (await fetch(`${s.url}/api/strategies`)).json() as { strategies: { name: string }[] };
    expect(list.strategies.map((x) => x.name)).toEqual(["a"]);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  test("from_job: a running grid search is refused (409); a completed one shows 'Deploy this pair', which deploys its selection", async () => {
    server = await startTestServer({ database: db(), flags: ["--tick-ms", "20", "--workers", "1"] });
    const s = server;
    await fetch(`${s.url}/api/games/demo?games=40&seed=5`, { method: "POST" });
    const big = await (await fetch(`${s.url}/api/grid-search/run`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ entry_start: 0.001, entry_stop: 0.6, entry_step: 0.001, exit_start: 0, exit_stop: 0.3, exit_step: 0.001 }),
    })).json() as { request_id: string };
    const running = await fetch(`${s.url}/live/strategies`, form({ name: "too early", from_job: big.request_id }));
    expect(running.status).toBe(409);
    expect(await running.text()).toContain("from_job: the grid search is");
    await fetch(`${s.url}/api/jobs/${big.request_id}/cancel`, { method: "POST" });

    const small = await (await fetch(`${s.url}/api/grid-search/run`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ entry_start: 0.02, entry_stop: 0.1, entry_step: 0.02, exit_start: 0, exit_stop: 0.04, exit_step: 0.02 }),
    })).json() as { request_id: string };
    await eventually(async () => ((await (await fetch(`${s.url}/api/grid-search/progress/${small.request_id}`)).json()) as { status: string }).status === "complete");
    const results = await (await fetch(`${s.url}/jobs/${small.request_id}/results`)).text();
    expect(results).toContain('<form method="post" action="/live/strategies" class="deploy-pair">');
    expect(results).toContain(`name="from_job" value="${small.request_id}"`);
    expect(results).toContain(`value="grid ${small.request_id.slice(0, 8)}"`);
    const res = await fetch(`${s.url}/live/strategies`, form({ name: `grid ${small.request_id.slice(0, 8)}`, from_job: small.request_id }));
    expect(res.status).toBe(303);
    const job = await (await fetch(`${s.url}/api/grid-search/results/${small.request_id}`)).json() as { final_selection: { entry: number; exit: number } };
    const list = await (await fetch(`${s.url}/api/strategies`)).json() as { strategies: { name: string; entry: number; exit: number }[] };
    expect(list.strategies).toEqual([expect.objectContaining({ name: `grid ${small.request_id.slice(0, 8)}`, entry: job.final_selection.entry, exit: job.final_selection.exit })]);
  });

  test("with auth on: a viewer sees no forms and gets 403 on them; an operator's session posts with its CSRF token; a starter's page fills from its socket", async () => {
    server = await startAuthServer({ database: db(), flags: ["--tick-ms", "20", "--starter-delay-ms", "300"] });
    const s = server;
    await s.live.ingest(TICKS.slice(0, 2));
    const viewer = await makeToken(s, "viewer", { tier: "pro" });
    const page = await (await fetch(`${s.url}/live`, { headers: { authorization: viewer.bearer } })).text();
    expect(page).toContain("Replaying games needs the operator role");
    expect(page).not.toContain('action="/live/replay"');
    expect(page).not.toContain('action="/live/strategies"');
    expect(page).toContain(`href="/live/${enc(GAME)}"`);
    for (const path of ["/live/replay", "/live/strategies"]) {
      const r = await fetch(`${s.url}${path}`, form({ name: "x", entry: "0.1", exit: "0", count: "1" }, { authorization: viewer.bearer }));
      expect(r.status).toBe(403);
    }

    const op = await makeSession(s, "operator", { tier: "pro" });
    const cookie = { cookie: op.cookie, origin: s.url };
    expect((await fetch(`${s.url}/live/strategies`, form({ name: "no token", entry: "0.1", exit: "0" }, cookie))).status).toBe(403);
    const ok = await fetch(`${s.url}/live/strategies`, form({ _csrf: op.csrf, name: "with token", entry: "0.1", exit: "0" }, cookie));
    expect(ok.status).toBe(303);
    const opPage = await (await fetch(`${s.url}/live`, { headers: cookie })).text();
    expect(opPage).toContain(`name="_csrf" value="${op.csrf}"`);
    expect(opPage).toContain("with token");

    // A starter's first load shows no present data; its socket brings the (late) state.
    const starter = await makeToken(s, "viewer", { tier: "starter" });
    const late = await (await fetch(`${s.url}/live`, { headers: { authorization: starter.bearer } })).text();
    expect(late).toContain("your tier sees the live feed late");
    expect(late).not.toContain(`href="/live/${enc(GAME)}"`);
    expect((await fetch(`${s.url}/pages/live`, { headers: { authorization: starter.bearer } })).status).toBe(204);
    const sock = openSocket(`${s.url.replace("http", "ws")}/pages/ws/live`, { authorization: starter.bearer });
    await eventually(() => sock.messages.some((m) => m.includes(`href="/live/${enc(GAME)}"`)), { what: "the starter's late copy" });
    sock.ws.close();
  });
});

test("the socket fragment is the three lists, each swapped out of band", () => {
  const s = livePageFragment({ games: [], more_games: 0, strategies: [], signals: [] });
  expect(s.match(/hx-swap-oob="outerMorph"/g)?.length).toBe(3);
});
