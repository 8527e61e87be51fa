// Live progress over the job sockets of protocol.md, end to end: the current state at once,
// coalesced changes, the final counts, then close 1000; and the same through the /ws topic.
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { startTestServer, stopTestServer } from "../support/server";

type Msg = { type: string; progress?: { status: string; current: number; total: number; current_combo: string }; seq?: number; topic?: string };

function collect(url: string) {
  const ws = new WebSocket(url);
  const messages: Msg[] = [];
  const opened = new Promise((r) => (ws.onopen = r));
  const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
  ws.onmessage = (e) => messages.push(JSON.parse(String(e.data)));
  return { ws, messages, opened, closed };
}

forEachDatabase("job sockets", (db) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startTestServer({ database: db(), flags: ["--tick-ms", "20"] });
    await fetch(`${server.url}/api/games/demo?games=400&seed=5`, { method: "POST" });
  });
  afterEach(() => stopTestServer(server));
  const ws = (path: string) => `${server.url.replace("http", "ws")}${path}`;
  const grid = { entry_start: 0.005, entry_stop: 0.5, entry_step: 0.005, exit_start: 0, exit_stop: 0.3, exit_step: 0.005 };

  test("/ws/grid-search/{id}: current state at once, increasing counts, final counts, then close 1000", async () => {
    const { request_id } = await (await fetch(`${server.url}/api/grid-search/run`, { method: "POST", body: JSON.stringify(grid), headers: { "content-type": "application/json" } })).json();
    const c = collect(ws(`/ws/grid-search/${request_id}`));
    const close = await c.closed;
    expect(close.code).toBe(1000);
    const progress = c.messages.filter((m) => m.type === "progress").map((m) => m.progress!);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    const last = progress.at(-1)!;
    expect(last.status).toBe("complete");
    expect(last.current).toBe(last.total);
    expect(last.total).toBeGreaterThan(0);
    for (let i = 1; i < progress.length; i++) expect(progress[i].current).toBeGreaterThanOrEqual(progress[i - 1].current);
    const seqs = c.messages.map((m) => m.seq!);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
    // Running states carry no time on the wire (protocol.md's shape), but the hub knows when a
    // worker counted each one: its data age at publish is in /metrics.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const ages = Number(/^gridcast_ws_publish_data_age_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    expect(ages).toBeGreaterThanOrEqual(1);
    const running = progress.find((p) => p.status === "running" && p.current > 0);
    expect(running).toBeDefined(); // the job runs for about half a second: several ticks
    expect(Object.keys(running!).sort()).toEqual(["current", "current_combo", "status", "total"]);
    // A late subscriber still gets the final state, then the close.
    const late = collect(ws(`/ws/grid-search/${request_id}`));
    expect((await late.closed).code).toBe(1000);
    expect(late.messages[0].progress).toMatchObject({ status: "complete", current: last.total });
  });

  test("a socket path fetched without an upgrade answers 426 in JSON, and the server goes on", async () => {
    for (const path of ["/ws", "/ws/grid-search/abc", "/ws/simulation/abc", "/ws/update/status"]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(426);
      expect(await res.json()).toEqual({ detail: "this path is a WebSocket: open it with an Upgrade: websocket request" });
    }
    const page = await fetch(`${server.url}/pages/ws/dashboard`); // a page's socket: a page answers
    expect(page.status).toBe(426);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect((await fetch(`${server.url}/ws/stats`)).status).toBe(200);
  });

  test("an unknown id reads not_found and the socket stays open; ping gets pong", async () => {
    const c = collect(ws("/ws/simulation/00000000-0000-0000-0000-000000000000"));
    await c.opened;
    c.ws.send(JSON.stringify({ type: "ping" }));
    await eventually(() => c.messages.length >= 2, { what: "not_found and a pong" });
    expect(c.messages[0]).toMatchObject({ type: "progress", progress: { status: "not_found", current: 0, total: 0 } });
    expect(c.messages[1]).toMatchObject({ type: "pong" });
    expect(typeof (c.messages[1] as { timestamp?: number }).timestamp).toBe("number");
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
  });

  test("/ws topic job:{id} carries the same progress with topic and seq", async () => {
    const c = collect(ws("/ws"));
    await c.opened;
    const { request_id } = await (await fetch(`${server.url}/api/simulation/run?entry=0.05&exit=0.01`, { method: "POST" })).json();
    c.ws.send(JSON.stringify({ type: "subscribe", topic: `job:${request_id}`, id: 7 }));
    await eventually(() => c.messages.some((m) => m.progress?.status === "complete"), { what: "the simulation's complete state" });
    expect(c.messages[0].type).toBe("welcome");
    expect(c.messages.find((m) => m.type === "subscription_confirmed")).toMatchObject({ topic: `job:${request_id}`, id: 7 });
    const done = c.messages.find((m) => m.progress?.status === "complete")!;
    expect(done).toMatchObject({ type: "progress", topic: `job:${request_id}`, progress: { current: 400, total: 400 } });
    c.ws.close();
  });
});
