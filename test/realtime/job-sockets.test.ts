// The one-topic sockets the source system's clients use: /ws/grid-search/{id}, /ws/simulation/{id},
// /ws/update/status, and a page's HTML fragment socket, over a real server.
import { afterEach, describe, expect, it } from "bun:test";
import { eventually } from "../support/eventually";
import { Client, closeAll, ofType, progress, startServer } from "./harness";

afterEach(closeAll);

describe("per-job sockets", () => {
  it("sends not_found at once for an unknown job, then the real state once the job exists", async () => {
    const s = await startServer();
    const c = await Client.connect(`${s.ws}/ws/grid-search/job1`);
    expect(await c.next()).toEqual({ type: "progress", progress: { status: "not_found", current: 0, total: 0, current_combo: "" }, seq: 0 });
    s.hub.set("job:job1", progress(0, "queued"));
    expect(await c.next()).toEqual({ type: "progress", progress: progress(0, "queued"), seq: 1 });
  });

  it("coalesces rapid changes to one message per tick, first one immediate, final counts kept", async () => {
    const s = await startServer({ settings: { tickMs: 50 } });
    const c = await Client.connect(`${s.ws}/ws/simulation/sim1`);
    await c.next(); // not_found
    s.hub.set("job:sim1", progress(1));
    // Arrives with no time passed on the hub's clock: the first change does not wait for a tick.
    expect(await c.next()).toMatchObject({ progress: { current: 1 }, seq: 1 });
    for (let i = 2; i <= 100; i++) {
      s.hub.set("job:sim1", progress(i));
      s.clock.advance(1);
    }
    s.clock.advance(50); // the last pending tick
    await c.sync();
    // 99 changes over 99 ms: one message at each 50 ms tick, the last with the final count.
    expect(c.inbox.map((m) => [m.seq, m.progress.current])).toEqual([[2, 51], [3, 100]]);
    s.clock.advance(500);
    await c.sync();
    expect(c.inbox.length).toBe(2); // nothing else follows
    expect(s.hub.stats().pending).toBe(0);
  });

  it("sends the terminal state with its final counts and then closes with 1000", async () => {
    const s = await startServer();
    const closedJobs: [string, number][] = [];
    const s2 = await startServer({ mount: { onJobTerminalClose: (t, n) => closedJobs.push([t, n]) } });
    for (const srv of [s, s2]) {
      const a = await Client.connect(`${srv.ws}/ws/grid-search/g1`);
      const b = await Client.connect(`${srv.ws}/ws/simulation/g1`);
      srv.hub.set("job:g1", progress(10));
      srv.hub.set("job:g1", progress(100, "complete"));
      for (const c of [a, b]) {
        expect((await c.closed).code).toBe(1000);
        expect(c.inbox.at(-1)).toEqual({ type: "progress", progress: progress(100, "complete"), seq: 2 });
      }
    }
    expect(closedJobs).toEqual([["job:g1", 2]]);
    await eventually(() => s.registry.active() === 0, { what: "both sockets gone from the registry" });
  });

  it("closes with 1000 after an error status that carries the message", async () => {
    const s = await startServer();
    const c = await Client.connect(`${s.ws}/ws/grid-search/e1`);
    s.hub.set("job:e1", { ...progress(3, "error"), error: "worker crashed" });
    expect(await c.closed).toEqual({ code: 1000, reason: "error" });
    expect(c.inbox.at(-1)!.progress).toMatchObject({ status: "error", error: "worker crashed", current: 3 });
  });

  it("gives a late subscriber the current state at once, and a finished job's final state then 1000", async () => {
    const s = await startServer();
    s.hub.set("job:j", progress(42));
    const mid = await Client.connect(`${s.ws}/ws/grid-search/j`);
    expect(await mid.next()).toEqual({ type: "progress", progress: progress(42), seq: 1 });
    s.hub.set("job:j", progress(100, "cancelled"));
    const late = Client.start(`${s.ws}/ws/grid-search/j`);
    expect((await late.closed).code).toBe(1000);
    expect(late.inbox).toEqual([{ type: "progress", progress: progress(100, "cancelled"), seq: 2 }]);
  });

  it("closes with 1011 on a server fault and keeps serving the others", async () => {
    const s = await startServer({
      hub: { resolveTopic: (t) => { if (t === "job:boom") throw new Error("store unavailable"); return { ok: true, initial: progress(0, "queued") }; } },
    });
    const bad = Client.start(`${s.ws}/ws/grid-search/boom`);
    expect((await bad.closed).code).toBe(1011);
    expect(s.logger.lines.some((l) => l.level === "error" && l.msg === "websocket open failed")).toBe(true);
    const good = await Client.connect(`${s.ws}/ws/grid-search/fine`);
    expect(await good.next()).toMatchObject({ progress: { status: "queued" } });
  });

  it("answers a ping with a pong carrying unix seconds", async () => {
    const s = await startServer();
    const c = await Client.connect(`${s.ws}/ws/simulation/p`);
    await c.next();
    s.clock.advance(1234.5);
    c.send({ type: "ping" });
    const pong = await c.next();
    expect(pong.type).toBe("pong");
    expect(pong.timestamp).toBe(s.clock.now() / 1000);
    expect(pong.timestamp % 1).not.toBe(0); // seconds as a float, not whole seconds
    c.send("not json at all"); // ignored on these sockets, which stay open
    await c.sync();
  });

  it("publishes once per wire topic per tick whatever the number of subscribers", async () => {
    const s = await startServer({ settings: { tickMs: 30 } });
    const clients = await Promise.all(Array.from({ length: 40 }, () => Client.connect(`${s.ws}/ws/grid-search/fan`)));
    await Promise.all(clients.map((c) => c.next()));
    for (let i = 1; i <= 5; i++) {
      s.hub.set("job:fan", progress(i));
      s.clock.advance(30); // a tick apart: each change goes out
    }
    await Promise.all(clients.map((c) => c.sync()));
    expect(s.publishes.filter((w) => w === "legacy|job:fan").length).toBe(5);
    expect(s.publishes.filter((w) => w !== "legacy|job:fan")).toEqual([]); // nobody on /ws: not rendered
    expect(clients.every((c) => c.inbox.map((m) => m.seq).join() === "1,2,3,4,5")).toBe(true);
  });
});

describe("update status socket", () => {
  it("sends the status at once and on every change, and stays open across updates", async () => {
    const s = await startServer();
    const c = await Client.connect(`${s.ws}/ws/update/status`);
    expect(await c.next()).toEqual({ type: "status", is_running: false, message: "No update running", seq: 0 });
    s.hub.set("update", { is_running: true, message: "Update in progress", progress: { current: 1, total: 10 } });
    expect(await c.next()).toEqual({ type: "status", is_running: true, message: "Update in progress", progress: { current: 1, total: 10 }, seq: 1 });
    s.clock.advance(s.settings.tickMs);
    s.hub.set("update", { is_running: false, message: "No update running" });
    expect(await c.next()).toMatchObject({ is_running: false, seq: 2 });
    await c.sync();
    expect(c.isClosed).toBe(false);
  });
});

describe("HTML fragment sockets for the pages", () => {
  it("renders a page's fragment once per tick for all its sockets, and ends with the job", async () => {
    let renders = 0;
    const s = await startServer({
      beforeListen: ({ hub, realtime }) => {
        hub.addFormat("html", (topic, state) => (renders++, `<div id="p" hx-swap-oob="true">${topic} ${state.status} ${state.current}</div>`));
        realtime.topicSocket("/pages/jobs/:id/ws", { format: "html", topic: (p) => `job:${p.id}`, endWithJob: true });
      },
    });
    s.hub.set("job:h", progress(5));
    const pages = await Promise.all(Array.from({ length: 5 }, () => Client.connect(`${s.ws}/pages/jobs/h/ws`)));
    for (const p of pages) expect(await p.next()).toEqual({ text: '<div id="p" hx-swap-oob="true">job:h running 5</div>' });
    expect(renders).toBe(1); // the open snapshot is rendered once and cached for the same seq
    s.clock.advance(s.settings.tickMs);
    s.hub.set("job:h", progress(100, "complete"));
    for (const p of pages) {
      expect((await p.closed).code).toBe(1000);
      expect(p.inbox.at(-1)).toEqual({ text: '<div id="p" hx-swap-oob="true">job:h complete 100</div>' });
    }
    expect(renders).toBe(2);
    expect(s.publishes.filter((w) => w === "html|job:h").length).toBe(1);
  });
});

describe("status endpoints", () => {
  it("serves /api/websocket/status and /ws/stats", async () => {
    const s = await startServer();
    const a = await Client.connect(`${s.ws}/ws`, { "user-agent": "probe/1" });
    await a.next(ofType("welcome"));
    a.send({ type: "subscribe", topic: "job:x" });
    await a.next(ofType("subscription_confirmed"));
    const b = await Client.connect(`${s.ws}/ws/update/status`);
    await b.next();
    const status = await (await fetch(`${s.http}/api/websocket/status`)).json();
    expect(status).toMatchObject({
      status: "ok",
      summary: { activeConnections: 2, trackedConnections: 2, totalBroadcasts: expect.any(Number), totalErrors: 0 },
    });
    expect(Date.parse(status.timestamp)).toBeGreaterThan(0);
    const mine = status.connections.find((c: { endpoint: string }) => c.endpoint === "/ws");
    expect(mine).toMatchObject({
      id: expect.stringMatching(/^ws_\d+_\d{13}$/), broadcastCount: 3, errorCount: 0, lastError: null,
      clientInfo: { userAgent: "probe/1", ip: "127.0.0.1" }, topics: ["job:x"],
    });
    expect(Date.parse(mine.connectedAt)).toBeGreaterThan(0);
    expect(Date.parse(mine.lastBroadcast)).toBeGreaterThan(0);
    const stats = await (await fetch(`${s.http}/ws/stats`)).json();
    expect(stats).toMatchObject({
      total_connections: 2, by_topic: { "job:x": 1, update: 1 }, by_role: { admin: 2 }, by_tier: { pro: 2 },
      by_endpoint: { "/ws": 1, "/ws/update/status": 1 },
    });
  });
});
