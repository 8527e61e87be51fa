// The multiplexed /ws socket over a real server: welcome, subscribe/unsubscribe with acks, ping,
// errors that keep the socket open, metrics, and the shutdown notice.
import { afterEach, describe, expect, it } from "bun:test";
import { eventually } from "../support/eventually";
import { Client, closeAll, ofType, progress, startServer } from "./harness";

afterEach(closeAll);

async function muxClient(url: string) {
  const c = await Client.connect(`${url}/ws`);
  const welcome = await c.next();
  return { c, welcome };
}

describe("/ws", () => {
  it("welcomes with a connection id, acknowledges a subscription with its id, then streams the topic", async () => {
    const s = await startServer();
    const { c, welcome } = await muxClient(s.ws);
    expect(welcome).toEqual({ type: "welcome", connection_id: expect.stringMatching(/^ws_\d+_\d{13}$/) });
    c.send({ type: "subscribe", topic: "job:abc", id: "s1" });
    const confirmed = await c.next();
    expect(confirmed).toEqual({ type: "subscription_confirmed", topic: "job:abc", epoch: expect.any(String), seq: 0, id: "s1" });
    expect(await c.next()).toEqual({
      type: "progress", topic: "job:abc", progress: { status: "not_found", current: 0, total: 0, current_combo: "" }, seq: 0, epoch: confirmed.epoch,
    });
    s.hub.set("job:abc", progress(5));
    expect(await c.next()).toEqual({ type: "progress", topic: "job:abc", progress: progress(5), seq: 1, epoch: confirmed.epoch });
  });

  it("stops sending a topic after unsubscribe", async () => {
    const s = await startServer();
    const { c } = await muxClient(s.ws);
    c.send({ type: "subscribe", topic: "update" });
    await c.next(ofType("subscription_confirmed"));
    expect(await c.next()).toEqual({ type: "status", topic: "update", is_running: false, message: "No update running", seq: 0, epoch: expect.any(String) });
    c.send({ type: "unsubscribe", topic: "update", id: 9 });
    expect(await c.next()).toEqual({ type: "unsubscription_confirmed", topic: "update", id: 9 });
    s.hub.set("update", { is_running: true, message: "Update in progress" });
    s.clock.advance(s.settings.tickMs * 2);
    await c.sync();
    expect(c.inbox).toEqual([]);
  });

  it("answers ping with pong, echoing the id", async () => {
    const s = await startServer();
    const { c } = await muxClient(s.ws);
    c.send({ type: "ping", id: 1 });
    expect(await c.next()).toEqual({ type: "pong", timestamp: s.clock.now() / 1000, id: 1 });
  });

  it("answers bad JSON, a wrong shape, an unknown type and an unknown topic with errors, and keeps working", async () => {
    const s = await startServer();
    const { c } = await muxClient(s.ws);
    c.send("{oops");
    expect(await c.next()).toEqual({ type: "error", message: "invalid JSON" });
    c.send([1, 2, 3]);
    expect((await c.next()).message).toContain("JSON object");
    c.send({ type: "subscribe", id: "no-topic" });
    expect(await c.next()).toEqual({ type: "error", message: expect.stringContaining('"topic"'), id: "no-topic" });
    c.send({ type: "launch", id: 2 });
    expect(await c.next()).toEqual({ type: "error", message: expect.stringContaining('unknown message type "launch"'), id: 2 });
    for (const topic of ["live", "live:g1", "signals", "job:../../etc"]) {
      c.send({ type: "subscribe", topic, id: topic });
      expect(await c.next()).toEqual({ type: "error", message: `unknown topic "${topic}"`, id: topic });
    }
    c.send({ type: "subscribe", topic: "job:ok", id: "after" });
    expect(await c.next()).toMatchObject({ type: "subscription_confirmed", id: "after" });
    expect(c.isClosed).toBe(false);
    const status = s.registry.status();
    expect(status.summary.totalErrors).toBe(8);
    expect(status.connections[0].lastError).toBe('unknown topic "job:../../etc"');
  });

  it("sends metrics_update while subscribed, computing nothing before or after", async () => {
    let collects = 0;
    const s = await startServer({
      settings: { metricsIntervalMs: 150 },
      mount: { collect: () => (collects++, { jobs: { running: 1 }, workers: { size: 2, busy: 1 } }) },
    });
    const { c } = await muxClient(s.ws);
    s.clock.advance(1000);
    expect(collects).toBe(0);
    c.send({ type: "subscribe", topic: "metrics", id: "m" });
    await c.next(ofType("subscription_confirmed"));
    const first = await c.next(ofType("metrics_update"));
    expect(first).toMatchObject({ topic: "metrics", seq: 1, metrics: { connections: 1, jobs: { running: 1 }, workers: { size: 2, busy: 1 } } });
    expect(first.metrics).toHaveProperty("messages_per_second");
    expect(first.metrics).toHaveProperty("bytes_per_second");
    expect(first.metrics).toHaveProperty("drops");
    expect(first.metrics.publish_latency_ms).toHaveProperty("p99_ms");
    s.clock.advance(149);
    await c.sync();
    expect(c.inbox.filter(ofType("metrics_update"))).toEqual([]); // not before the interval
    s.clock.advance(1);
    expect((await c.next(ofType("metrics_update"))).seq).toBe(2);
    c.send({ type: "unsubscribe", topic: "metrics" });
    await c.next(ofType("unsubscription_confirmed"));
    expect(s.realtime.metrics.running).toBe(false);
    const after = collects;
    s.clock.advance(1000);
    expect(collects).toBe(after);
    // No timer left running for it: the one left is the per-minute connection summary, which stops
    // after the minute in which the last socket closed.
    expect(s.clock.timers.size).toBeLessThanOrEqual(1);
    c.close();
    await c.closed;
    await eventually(() => s.registry.active() === 0, { what: "the server to see the close" });
    s.clock.advance(60_000);
    expect(s.clock.timers.size).toBe(0);
  });

  it("stops metrics when the last subscriber disconnects", async () => {
    const s = await startServer({ settings: { metricsIntervalMs: 100 } });
    const { c } = await muxClient(s.ws);
    c.send({ type: "subscribe", topic: "metrics" });
    await c.next(ofType("metrics_update"));
    c.close();
    await eventually(() => !s.realtime.metrics.running, { what: "the metrics timer to stop" });
  });
});

describe("shutdown", () => {
  it("tells every socket server_shutdown, then closes all with 1012", async () => {
    const s = await startServer();
    const { c } = await muxClient(s.ws);
    const job = await Client.connect(`${s.ws}/ws/grid-search/z`);
    await job.next();
    const update = await Client.connect(`${s.ws}/ws/update/status`);
    await update.next();
    s.hub.set("job:z", progress(1));
    s.hub.set("job:z", progress(2)); // pending: must go out before the notice
    await s.realtime.shutdown("restarting for an upgrade");
    for (const client of [c, job, update]) {
      expect((await client.closed).code).toBe(1012);
      expect(client.inbox.at(-1)).toEqual({ type: "server_shutdown", message: "restarting for an upgrade", timestamp: expect.any(Number) });
    }
    expect(job.inbox.map((m) => m.progress?.current)).toEqual([1, 2, undefined]);
    expect(s.registry.active()).toBe(0);
    const late = Client.start(`${s.ws}/ws`);
    expect((await late.closed).code).toBe(1012);
  });
});
