import { describe, expect, it } from "bun:test";
import { createHub } from "../../src/realtime/hub";
import { createRegistry } from "../../src/realtime/registry";
import { FakeClock, FakeTransport } from "./fakes";

function setup(limits: { maxConnections?: number; maxConnectionsPerIp?: number } = {}) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const hub = createHub({ transport, clock, tickMs: 50 });
  let lookups = 0;
  const registry = createRegistry({
    maxConnections: limits.maxConnections ?? 10,
    maxConnectionsPerIp: limits.maxConnectionsPerIp ?? 10,
    published: (wire) => (lookups++, hub.published(wire)),
    clock,
  });
  const open = (ip = "10.0.0.1", endpoint = "/ws") => {
    const r = registry.open({ ip, userAgent: "test-agent", endpoint });
    if (!r.ok) throw new Error(r.reason);
    return r.conn;
  };
  return { clock, transport, hub, registry, open, lookups: () => lookups };
}

describe("connection registry", () => {
  it("names connections ws_<counter>_<unix ms>", () => {
    const { open, clock } = setup();
    expect(open().id).toBe(`ws_1_${clock.now()}`);
    expect(open().id).toBe(`ws_2_${clock.now()}`);
  });

  it("refuses connections past the global and the per-address limits", () => {
    const { registry, open } = setup({ maxConnections: 3, maxConnectionsPerIp: 2 });
    open("1.1.1.1");
    open("1.1.1.1");
    expect(registry.open({ ip: "1.1.1.1", userAgent: "", endpoint: "/ws" })).toMatchObject({ ok: false, reason: expect.stringContaining("this address") });
    const third = open("2.2.2.2");
    expect(registry.open({ ip: "3.3.3.3", userAgent: "", endpoint: "/ws" })).toMatchObject({ ok: false, reason: expect.stringContaining("server full") });
    registry.close(third.id);
    expect(registry.open({ ip: "3.3.3.3", userAgent: "", endpoint: "/ws" }).ok).toBe(true);
  });

  it("counts broadcasts per connection from a baseline, without work per delivery", () => {
    const { hub, transport, registry, open, clock, lookups } = setup();
    transport.listen("ws|job:a", 2);
    hub.set("job:a", { status: "running", current: 1 }); // before anyone in the registry subscribed
    const early = open();
    registry.subscribe(early.id, "ws|job:a", "job:a");
    for (let i = 2; i <= 4; i++) {
      clock.advance(50);
      hub.set("job:a", { status: "running", current: i });
    }
    const late = open();
    registry.subscribe(late.id, "ws|job:a", "job:a");
    clock.advance(50);
    hub.set("job:a", { status: "running", current: 5 });
    expect(lookups()).toBe(2); // only the two subscribe calls looked anything up
    registry.noteSent(late.id); // e.g. its snapshot
    expect(registry.broadcastCount(early)).toBe(4);
    expect(registry.broadcastCount(late)).toBe(2);
    registry.unsubscribe(early.id, "ws|job:a");
    clock.advance(50);
    hub.set("job:a", { status: "running", current: 6 });
    expect(registry.broadcastCount(early)).toBe(4);
    registry.close(early.id);
    expect(registry.status().summary.totalBroadcasts).toBe(4 + 3);
  });

  it("reports /api/websocket/status in the source system's camelCase shape", () => {
    const { registry, open, clock } = setup();
    const conn = open("127.0.0.1", "/ws/grid-search/:id");
    registry.subscribe(conn.id, "legacy|job:x", "job:x");
    registry.noteSent(conn.id);
    registry.noteError(conn.id, "unknown topic");
    const status = registry.status();
    expect(status).toEqual({
      status: "ok",
      timestamp: new Date(clock.now()).toISOString(),
      summary: { activeConnections: 1, trackedConnections: 1, totalBroadcasts: 1, totalErrors: 1 },
      connections: [{
        id: conn.id,
        connectedAt: new Date(clock.now()).toISOString(),
        broadcastCount: 1,
        errorCount: 1,
        lastBroadcast: new Date(clock.now()).toISOString(),
        lastError: "unknown topic",
        clientInfo: { userAgent: "test-agent", ip: "127.0.0.1" },
        endpoint: "/ws/grid-search/:id",
        topics: ["job:x"],
        role: "admin", tier: "pro", token: null, acks: [],
      }],
    });
    expect(registry.health()).toEqual({ activeConnections: 1, totalConnectionsTracked: 1 });
  });

  it("reports /ws/stats counts by topic, role, tier and endpoint (auth off: admin, pro)", () => {
    const { registry, open } = setup();
    const a = open("1.1.1.1", "/ws");
    const b = open("1.1.1.2", "/ws/update/status");
    registry.subscribe(a.id, "ws|job:x", "job:x");
    registry.subscribe(a.id, "ws|update", "update");
    registry.subscribe(b.id, "legacy|update", "update");
    expect(registry.stats()).toMatchObject({
      total_connections: 2,
      by_topic: { "job:x": 1, update: 2 },
      by_role: { admin: 2 },
      by_tier: { pro: 2 },
      by_endpoint: { "/ws": 1, "/ws/update/status": 1 },
      limits: { max_connections: 10, max_connections_per_ip: 10 },
    });
    registry.close(a.id);
    expect(registry.stats().by_topic).toEqual({ update: 1 });
  });

  it("shares one frozen identity per token across its connections, and drops it with the last", () => {
    const { registry } = setup();
    const alice = { role: "operator", tier: "starter", token: "alice", tokenId: "tok_a" };
    const openAs = (identity: typeof alice) => {
      const r = registry.open({ ip: "10.0.0.1", userAgent: "", endpoint: "/ws", identity: { ...identity } });
      if (!r.ok) throw new Error(r.reason);
      return r.conn;
    };
    const a1 = openAs(alice);
    const a2 = openAs(alice);
    const b = openAs({ role: "viewer", tier: "pro", token: "bob", tokenId: "tok_b" });
    expect(a1.identity).toBe(a2.identity); // the same object, not a copy per connection
    expect(Object.isFrozen(a1.identity)).toBe(true);
    expect(a1.identity).toEqual(alice);
    expect(registry.stats()).toMatchObject({ by_role: { operator: 2, viewer: 1 }, by_tier: { starter: 2, pro: 1 } });
    expect(registry.status().connections.map((c) => [c.role, c.tier, c.token])).toEqual([
      ["operator", "starter", "alice"], ["operator", "starter", "alice"], ["viewer", "pro", "bob"],
    ]);
    registry.close(a1.id);
    registry.close(a2.id);
    const again = openAs(alice);
    expect(again.identity).not.toBe(a1.identity); // the old one was let go with its last connection
    registry.close(again.id);
    registry.close(b.id);
    expect(registry.stats()).toMatchObject({ by_role: {}, by_tier: {} });
  });

  it("tells listeners when a topic gains its first subscriber and loses its last", () => {
    const { registry, open } = setup();
    const events: [string, number][] = [];
    registry.onTopicActivity((t, n) => events.push([t, n]));
    const a = open();
    const b = open();
    registry.subscribe(a.id, "ws|metrics", "metrics");
    registry.subscribe(b.id, "html|metrics", "metrics");
    registry.unsubscribe(a.id, "ws|metrics");
    registry.close(b.id);
    expect(events).toEqual([["metrics", 1], ["metrics", 0]]);
    expect([...registry.subscribers("html|metrics")]).toEqual([]);
  });
});
