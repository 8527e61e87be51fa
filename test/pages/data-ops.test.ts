// The data page (games, import, update status, demo data) and the ops page (metrics), their
// fragments and sockets, with and without scripts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OPEN_IDENTITY } from "../../src/access/roles";
import type { Database } from "../../src/db/database";
import type { RunningServer } from "../../src/server/lifecycle";
import { gamesTable, updateStatusFragment } from "../../views/pages/data";
import { opsFragment } from "../../views/pages/ops";
import { freshDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { startTestServer, stopTestServer } from "../support/server";

const EVIL = `<script>alert(1)</script>`;

describe("data and ops fragments", () => {
  test("game ids, file names and import errors render as text", () => {
    const t = String(gamesTable({ games: [{ id: EVIL, first_t: 0, ticks: 3, outcome: 1, synthetic: false, imported_at: "2024-01-01T00:00:00.000Z" }], total: 1, page: 1, perPage: 50 }, OPEN_IDENTITY));
    expect(t).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(t).not.toContain("<script>");
    const u = updateStatusFragment({ is_running: true, message: "Update in progress", source: EVIL, progress: { current: 5, total: 10 }, last: { ok: false, source: EVIL, error: EVIL, finished_at: "2024-01-01T00:00:00.000Z" } });
    expect(u).toStartWith('<div id="update-status"');
    expect(u).toContain('hx-swap-oob="true"');
    expect(u).toContain('value="50.0"');
    expect(u).not.toContain("<script>");
  });

  test("an empty store offers the demo data through the demo endpoint, and a plain form without scripts", () => {
    const t = String(gamesTable({ games: [], total: 0, page: 1, perPage: 50 }, OPEN_IDENTITY));
    expect(t).toContain('<form method="post" action="/data/demo" hx-post="/api/games/demo?games=200&amp;seed=1" hx-swap="none">');
  });

  test("ops: the metric figures, topic names as text", () => {
    const s = opsFragment({
      metrics: { timestamp: 1, interval_ms: 10000, connections: 7, topics: 3, messages_per_second: 12.5, bytes_per_second: 2048, deliveries_per_second: 40, drops: 2, drops_since_last: 1, messages_total: 100, bytes_total: 5000,
        publish_latency_ms: { p50_ms: 0.5, p95_ms: 2, p99_ms: 5, max_ms: 9 }, publish_data_age_ms: { count: 40, p50_ms: 4.5, p99_ms: 17, max_ms: 21 }, busiest_topics: { [`job:${EVIL}`]: 4 }, jobs: { running: 1 }, workers: { size: 2, busy: 1, alive: 2, restarts: 0 } },
      memory: { rss_bytes: 50 << 20, heap_used_bytes: 10 << 20, heap_total_bytes: 20 << 20, external_bytes: 3 << 20 },
    });
    expect(s).toContain("12.5");
    expect(s).toContain("1 / 2");
    expect(s).toContain("p95 2 ms");
    expect(s).toContain("Progress age at publish p99");
    expect(s).toContain("17 ms");
    expect(s).toContain("p50 4.5 ms · max 21 ms");
    expect(s).toContain("50.0 MiB");
    expect(s).toContain("JS heap 10.0 MiB used of 20.0 MiB · 3.0 MiB external (buffers)");
    expect(s).not.toContain("<script>");
    const idle = opsFragment({ metrics: { timestamp: 1, publish_data_age_ms: { count: 0, p99_ms: 0 } }, memory: { rss_bytes: 0, heap_used_bytes: 0, heap_total_bytes: 0, external_bytes: 0 } });
    expect(idle).toContain("no job progress published yet");
  });

  test("ops: the history and recovery panel and the connections falling behind, furthest first, names as text", () => {
    const memory = { rss_bytes: 0, heap_used_bytes: 0, heap_total_bytes: 0, external_bytes: 0 };
    const s = opsFragment({
      metrics: { timestamp: 1,
        history: { topics: 12, messages: 3456, bytes: 3 << 20, limits: { size: 1000, ttl_ms: 300_000, max_bytes: 64 << 20 }, recoveries: 9, recovered: 7, replayed: 812 },
        lag: { acking: 40, behind: 3, max_lag: 1500, top: [
          { connection: "ws_9_1", endpoint: "/ws", topic: `live:${EVIL}`, role: "viewer", tier: "starter", acked: 10, seq: 1510, lag: 1500 },
          { connection: "ws_4_1", endpoint: "/ws", topic: "signals", role: "operator", tier: "pro", acked: 98, seq: 100, lag: 2 },
        ] } },
      memory,
    });
    const history = s.slice(s.indexOf("History and recovery"), s.indexOf("Connections falling behind"));
    expect(history).toContain("Topics with history</dt><dd><span class=\"big\">12</span>");
    expect(history).toContain("3,456");
    expect(history).toContain("3.0 MiB");
    expect(history).toContain("of at most 64.0 MiB");
    expect(history).toContain("7 / 9");
    expect(history).toContain("2 not recovered");
    expect(history).toContain("812");
    const lag = s.slice(s.indexOf("Connections falling behind"));
    expect(lag).toContain("3 of 40 acknowledging subscriptions behind, at most 1,500 messages; the 2 furthest behind.");
    const rows = [...lag.matchAll(/<tr><td><code>(ws_\d+_\d+)<\/code><\/td><td><code>([^<]*)<\/code><\/td>.*?<td class="num">([\d,]+)<\/td><td class="num">([\d,]+)<\/td><td class="num"><strong>([\d,]+)<\/strong>/g)].map((m) => m.slice(1));
    expect(rows).toEqual([["ws_9_1", "live:&lt;script&gt;alert(1)&lt;/script&gt;", "10", "1,510", "1,500"], ["ws_4_1", "signals", "98", "100", "2"]]);
    expect(s).not.toContain("<script>");
    const none = opsFragment({ metrics: { timestamp: 1, lag: { acking: 2, behind: 0, max_lag: 0, top: [] } }, memory });
    expect(none).toContain("None behind: all 2 acknowledging subscriptions are up to date.");
    expect(none).not.toContain("<table class=\"lagging\"");
    expect(opsFragment({ metrics: { timestamp: 1 }, memory })).toContain("No client acknowledges messages yet");
  });
});

describe("data and ops pages on a server", () => {
  let server: RunningServer;
  let db: Database;
  beforeAll(async () => {
    db = await freshDatabase("pglite");
    server = await startTestServer({ database: db, flags: ["--tick-ms", "20", "--metrics-interval-ms", "200"] });
  });
  afterAll(async () => {
    await stopTestServer(server);
    await db.close();
  });

  test("empty store: the demo button without scripts loads the demo data and lands back on /data", async () => {
    expect(await (await fetch(`${server.url}/data`)).text()).toContain("Load demo data");
    const res = await fetch(`${server.url}/data/demo`, { method: "POST", redirect: "manual" });
    expect(res.status).toBe(303);
    const page = await (await fetch(`${server.url}/data`)).text();
    expect(page).toContain("synthetic-0001");
    expect(page).toContain("(200)");
    expect(page).toContain('rel="next"');
    expect(await (await fetch(`${server.url}/data?page=4`)).text()).toContain("synthetic-0200");
  });

  test("import from the page: multipart through the same import path; a bad file names its line", async () => {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/pages/ws/update`);
    const messages: string[] = [];
    ws.onmessage = (e) => messages.push(String(e.data));
    await new Promise((r) => (ws.onopen = r));
    const form = new FormData();
    form.append("file", new File([`game_id,t,price,fair,outcome\n${EVIL},0,0.5,0.6,1\n${EVIL},1,0.55,0.6,1\n`], "games.csv", { type: "text/csv" }));
    const res = await fetch(`${server.url}/data/import`, { method: "POST", body: form, headers: { "HX-Request": "true" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Imported 1 game (2 ticks) from games.csv.");
    const bad = new FormData();
    bad.append("file", new File(["game_id,t,price,fair,outcome\ng,0,2,0.6,1\n"], "bad.csv", { type: "text/csv" }));
    const noJs = await fetch(`${server.url}/data/import`, { method: "POST", body: bad, redirect: "manual" });
    expect(noJs.status).toBe(303);
    const back = await (await fetch(`${server.url}${noJs.headers.get("location")}`)).text();
    expect(back).toContain("line 2");
    for (let i = 0; i < 100 && !messages.some((m) => m.includes("failed")); i++) await Bun.sleep(20);
    expect(messages[0]).toStartWith('<div id="update-status"');
    // The running state itself may be coalesced away (a small file imports within one tick);
    // test/http/games.test.ts holds a body open to see it. Here: the outcome arrives live.
    expect(messages.at(-1)).toContain("failed: line 2");
    expect(messages.join("")).not.toContain("<script>");
    const games = await (await fetch(`${server.url}/data/games?page=1`)).text();
    expect(games).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    ws.close();
  });

  test("a notice on /data comes from the server's own outcome, never from the query string", async () => {
    for (const q of [`imported=${encodeURIComponent(`${EVIL} Imported 9999 games`)}`, `failed=${encodeURIComponent("PWNED: call 555")}`, "notice=not-an-id"]) {
      const page = await (await fetch(`${server.url}/data?${q}`)).text();
      expect(page).not.toContain("9999");
      expect(page).not.toContain("PWNED");
      expect(page).toContain('<div id="import-result" role="status" aria-live="polite"></div>');
    }
    // Without scripts the form lands on /data with an id of the outcome the server kept.
    const form = new FormData();
    form.append("file", new File(["game_id,t,price,fair,outcome\nnotice,0,0.5,0.6,1\n"], "n.csv", { type: "text/csv" }));
    const res = await fetch(`${server.url}/data/import`, { method: "POST", body: form, redirect: "manual" });
    expect(res.status).toBe(303);
    const location = res.headers.get("location")!;
    expect(location).toMatch(/^\/data\?notice=[0-9a-f-]{36}$/);
    expect(await (await fetch(`${server.url}${location}`)).text()).toContain('<p class="notice ok">Imported 1 game (1 tick) from n.csv.</p>');
  });

  test("ops: the page and its socket carry the metrics topic", async () => {
    const page = await (await fetch(`${server.url}/ops`)).text();
    expect(page).toContain('hx-ws:connect="/pages/ws/metrics"');
    expect(page).toContain("Messages/s");
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/pages/ws/metrics`);
    const messages: string[] = [];
    ws.onmessage = (e) => messages.push(String(e.data));
    for (let i = 0; i < 100 && messages.length < 2; i++) await Bun.sleep(20);
    expect(messages.length).toBeGreaterThanOrEqual(2);
    expect(messages[0]).toStartWith('<div id="ops-metrics" hx-swap-oob="true">');
    expect(messages[0]).toContain("Connections");
    ws.close();
  });

  test("ops: a client that acknowledges and falls behind shows with its lag; a recovery is counted", async () => {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws`);
    const inbox: Record<string, unknown>[] = [];
    ws.onmessage = (e) => inbox.push(JSON.parse(String(e.data)));
    await new Promise((r) => (ws.onopen = r));
    ws.send(JSON.stringify({ type: "subscribe", topic: "metrics" }));
    const first = await eventually(() => inbox.find((m) => m.type === "metrics_update"), { what: "a metrics_update" });
    const acked = first.seq as number;
    ws.send(JSON.stringify({ type: "ack", topic: "metrics", seq: acked }));
    // A second socket recovers the metrics topic (a state topic: recovered, with its latest state).
    const back = new WebSocket(`${server.url.replace("http", "ws")}/ws`);
    const backInbox: Record<string, unknown>[] = [];
    back.onmessage = (e) => backInbox.push(JSON.parse(String(e.data)));
    await new Promise((r) => (back.onopen = r));
    back.send(JSON.stringify({ type: "subscribe", topic: "metrics", since: { epoch: first.epoch, seq: acked } }));
    expect(await eventually(() => backInbox.find((m) => m.type === "subscription_confirmed"), { what: "the recovery's confirmation" })).toMatchObject({ recovered: true });
    // Updates go on every 200 ms; the first socket acks no more, so it falls behind.
    const mine = async () => {
      const status = await (await fetch(`${server.url}/api/websocket/status`)).json();
      return (status.connections as { id: string; acks: { topic: string; acked: number; lag: number }[] }[]).find((c) => c.acks.some((a) => a.topic === "metrics"));
    };
    const conn = await eventually(async () => {
      const c = await mine();
      return c && c.acks[0].lag >= 2 ? c : undefined;
    }, { what: "the acking connection behind by 2 in /api/websocket/status" });
    expect(conn.acks[0]).toMatchObject({ topic: "metrics", acked });
    const page = await (await fetch(`${server.url}/ops`)).text();
    const row = new RegExp(`<tr><td><code>${conn.id}</code></td><td><code>metrics</code></td><td><code>/ws</code></td><td>admin · pro</td><td class="num">${acked}</td><td class="num">(\\d+)</td><td class="num"><strong>(\\d+)</strong>`).exec(page);
    expect(row).not.toBeNull();
    expect(Number(row![1]) - acked).toBe(Number(row![2]));
    // The page shows the last metrics_update, read just before that update was itself published.
    expect(Number(row![2])).toBeGreaterThanOrEqual(1);
    expect(page).toMatch(/Recoveries<\/dt><dd><span class="big">[1-9]\d* \/ [1-9]\d*<\/span>/);
    expect(page).toContain("History and recovery");
    // The page's socket carries the same panel (one fragment for both).
    const pageWs = new WebSocket(`${server.url.replace("http", "ws")}/pages/ws/metrics`);
    const fragments: string[] = [];
    pageWs.onmessage = (e) => fragments.push(String(e.data));
    const live = await eventually(() => fragments.find((f) => f.includes(`<code>${conn.id}</code>`)), { what: "the lagging row on the page socket" });
    expect(live).toContain("Connections falling behind");
    for (const w of [ws, back, pageWs]) w.close();
  });

  test("ops: the memory figures add up (heap used <= heap total <= RSS) after the server allocates", async () => {
    const keep = [Array.from({ length: 1_000_000 }, (_, j) => j + 0.5), new Uint8Array(16 << 20).fill(1)];
    Bun.gc(true); // the collector's size is brought up to date at a collection
    const page = await (await fetch(`${server.url}/ops`)).text();
    const unit: Record<string, number> = { B: 1, KiB: 1024, MiB: 1 << 20, GiB: 1 << 30 };
    const size = (text: string) => Number(text.split(" ")[0]) * unit[text.split(" ")[1]];
    const m = /Memory \(RSS\)<\/dt><dd><span class="big">([^<]+)<\/span><small class="muted">JS heap ([^<]+) used of ([^<]+) · ([^<]+) external/.exec(page);
    expect(m).not.toBeNull();
    const [rss, used, total] = [m![1], m![2], m![3]].map(size);
    expect(used).toBeGreaterThan(1_000_000 * 8);
    expect(used).toBeLessThanOrEqual(total);
    expect(total).toBeLessThanOrEqual(rss);
    expect(size(m![4])).toBeGreaterThanOrEqual(16 << 20);
    expect(keep.length).toBe(2);
  });
});
