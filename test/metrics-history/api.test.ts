// GET /api/metrics/history on a daemon: admins only, rows in a time range given as ISO or unix
// ms, bad values 422, a bounded page that says how to go on; and the rows a running daemon
// records itself showing on /ops as charts.
import { afterEach, beforeEach, expect, it } from "bun:test";
import { insertHistoryRow } from "../../src/metrics-history/repository";
import type { HistoryRow } from "../../src/metrics-history/sample";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { makeSession, makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";

const T0 = Date.parse("2026-03-01T12:00:00Z");

function row(at: number, extra: Partial<HistoryRow> = {}): HistoryRow {
  return {
    at, intervalMs: 10_000, connections: 3, messagesPerSecond: 12.5, bytesPerSecond: 4096, drops: 0, dropsPerSecond: 0,
    publishP99Ms: 20, dataAgeP99Ms: null, eventLoopLagP99Ms: 4.5, storeLatencyMs: 1.25, jobs: { running: 1 }, busyWorkers: 2,
    rssBytes: 200e6, cpuPercent: 37.5, alerts: [], ...extra,
  };
}

forEachDatabase("GET /api/metrics/history", (db) => {
  let server: RunningServer;
  let admin: string;
  const get = (query: string, auth = admin) => fetch(`${server.url}/api/metrics/history${query}`, { headers: { authorization: auth } });

  beforeEach(async () => {
    // interval 0: only the rows this test writes are in the table
    server = await startAuthServer({ database: db(), flags: ["--metrics-history-interval-ms", "0"] });
    admin = (await makeToken(server, "admin")).bearer;
    for (let i = 0; i < 10; i++) await insertHistoryRow(db(), row(T0 + i * 10_000, i === 4 ? { alerts: [{ name: "rss", message: "m", value: 3e9, threshold: 2e9, unit: "bytes", since: "2026-03-01T12:00:40.000Z" }] } : {}));
  });
  afterEach(() => stopTestServer(server));

  it("answers the rows between since and until, oldest first, with ISO or unix ms bounds", async () => {
    const res = await get(`?since=2026-03-01T12:00:20Z&until=${T0 + 50_000}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ since: "2026-03-01T12:00:20.000Z", until: "2026-03-01T12:00:50.000Z", count: 4, truncated: false });
    expect(body.rows.map((r: { at: string }) => r.at)).toEqual(["12:00:20", "12:00:30", "12:00:40", "12:00:50"].map((t) => `2026-03-01T${t}.000Z`));
    expect(body.rows[0]).toEqual({
      at: "2026-03-01T12:00:20.000Z", interval_ms: 10_000, connections: 3, messages_per_second: 12.5, bytes_per_second: 4096, drops: 0,
      drops_per_second: 0, publish_p99_ms: 20, data_age_p99_ms: null, event_loop_lag_p99_ms: 4.5, store_latency_ms: 1.25,
      jobs: { running: 1 }, busy_workers: 2, rss_bytes: 200e6, cpu_percent: 37.5, alerts: [],
    });
    expect(body.rows[2].alerts).toEqual([{ name: "rss", message: "m", value: 3e9, threshold: 2e9, unit: "bytes", since: "2026-03-01T12:00:40.000Z" }]);
  });

  it("bounds the page with limit and says where the next one starts", async () => {
    const body = await (await get(`?since=${T0}&until=${T0 + 3_600_000}&limit=3`)).json();
    expect(body).toMatchObject({ count: 3, truncated: true, next_since: "2026-03-01T12:00:30.000Z" });
    const next = await (await get(`?since=${encodeURIComponent(body.next_since)}&until=${T0 + 3_600_000}&limit=3`)).json();
    expect(next.rows[0].at).toBe("2026-03-01T12:00:30.000Z");
  });

  it("defaults to the last hour", async () => {
    const body = await (await get("")).json();
    expect(body.count).toBe(0); // the rows are from March 2026's noon, not from the last hour
    expect(Date.parse(body.until) - Date.parse(body.since)).toBe(3_600_000);
  });

  it("refuses bad values with 422 naming the parameter, and keeps answering", async () => {
    for (const [q, field] of [
      ["?since=yesterday", "since"], ["?until=2026-13-45T99:00:00Z", "until"], ["?since=1e12", "since"], ["?since=", "since"],
      ["?since=99999999999999999", "since"], [`?since=${T0 + 1}&until=${T0}`, "since"], ["?limit=0", "limit"], ["?limit=5001", "limit"],
      ["?limit=abc", "limit"],
    ] as const) {
      const res = await get(q);
      expect(res.status, q).toBe(422);
      expect((await res.json()).detail, q).toStartWith(`${field}:`);
    }
    expect((await get(`?since=${T0}&until=${T0 + 100_000}`)).status).toBe(200);
  });

  it("is for admins only", async () => {
    expect((await fetch(`${server.url}/api/metrics/history`)).status).toBe(401);
    for (const role of ["viewer", "operator"] as const) {
      const res = await get("", (await makeToken(server, role)).bearer);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ detail: "requires role admin" });
    }
  });
});

forEachDatabase("the daemon's own history", (db) => {
  let server: RunningServer;
  afterEach(() => stopTestServer(server));

  it("records rows while it runs, served by the API and drawn on /ops", async () => {
    server = await startTestServer({ database: db(), flags: ["--metrics-history-interval-ms", "100"] });
    await eventually(() => server.history.stats().written >= 3, { what: "three rows written" });
    const body = await (await fetch(`${server.url}/api/metrics/history`)).json();
    expect(body.interval_ms).toBe(100);
    expect(body.count).toBeGreaterThanOrEqual(3);
    expect(body.rows.at(-1).rss_bytes).toBeGreaterThan(0);
    expect(body.rows.at(-1).event_loop_lag_p99_ms).toBeGreaterThanOrEqual(0);
    const page = await (await fetch(`${server.url}/ops`)).text();
    expect(page).toContain("Last hour");
    expect(page.match(/<figure class="chart hist-chart">/g)?.length).toBe(6);
    expect(page).toMatch(/The last hour, [1-9]\d* points/);
  });
});

forEachDatabase("alerts banner", (db) => {
  let server: RunningServer;
  afterEach(() => stopTestServer(server));

  it("shows admins the active alerts on every page through its socket, and nobody else", async () => {
    // 1 byte of RSS: the first reading raises the rss alert
    server = await startAuthServer({ database: db(), flags: ["--metrics-history-interval-ms", "100", "--alert-rss-bytes", "1"] });
    const admin = await makeSession(server, "admin");
    const viewer = await makeSession(server, "viewer");
    for (const path of ["/", "/ops", "/data", "/live"]) {
      const adminPage = await (await fetch(`${server.url}${path}`, { headers: { cookie: admin.cookie } })).text();
      expect(adminPage, path).toContain('id="alerts-banner"');
      // One socket a page, the banner's messages included.
      expect(adminPage.match(/hx-ws:connect=/g)?.length, path).toBe(1);
      const viewerPage = await (await fetch(`${server.url}${path}`, { headers: { cookie: viewer.cookie } })).text();
      expect(viewerPage, path).not.toContain("alerts-banner");
    }
    await eventually(() => server.history.stats().rows >= 1, { what: "a first reading" });
    const follow = async (cookie: string) => {
      const messages: string[] = [];
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/pages/ws/dashboard`, { headers: { cookie } } as never);
      ws.onmessage = (e) => messages.push(String(e.data));
      await new Promise((resolve) => (ws.onopen = resolve));
      return { messages, ws };
    };
    const a = await follow(admin.cookie);
    const v = await follow(viewer.cookie);
    try {
      const banner = await eventually(() => a.messages.find((m) => m.includes('data-alert="rss"')), { what: "the rss alert in the banner" });
      expect(banner).toStartWith('<div id="alerts-banner"');
      expect(banner).toContain('hx-swap-oob="true"');
      expect(banner).toContain("Resident memory is");
      // The viewer's page socket carries its page, never the banner.
      await eventually(() => v.messages.length > 0, { what: "the viewer's dashboard" });
      expect(v.messages.some((m) => m.includes("alerts-banner"))).toBe(false);
    } finally {
      a.ws.close();
      v.ws.close();
    }
    // the alert is stored with the history
    const rows = (await (await fetch(`${server.url}/api/metrics/history`, { headers: { authorization: (await makeToken(server, "admin")).bearer } })).json()).rows;
    expect(rows.at(-1)?.alerts.map((a: { name: string }) => a.name)).toContain("rss");
  });
});
