import { describe, expect, it } from "bun:test";
import { isPing, parseClientMessage, serverMessages } from "../../src/realtime/protocol";
import { REALTIME_DEFAULTS, RealtimeSettingsError, resolveRealtimeSettings, websocketOptions } from "../../src/realtime/settings";

describe("client messages of /ws", () => {
  it("accepts subscribe, unsubscribe and ping, keeping an id", () => {
    expect(parseClientMessage({ type: "subscribe", topic: "job:a", id: 7 })).toEqual({ ok: true, message: { type: "subscribe", topic: "job:a", id: 7 } });
    expect(parseClientMessage('{"type":"unsubscribe","topic":"update"}')).toEqual({ ok: true, message: { type: "unsubscribe", topic: "update" } });
    expect(parseClientMessage(Buffer.from('{"type":"ping","id":"p1"}'))).toEqual({ ok: true, message: { type: "ping", id: "p1" } });
  });

  it("names what is wrong: bad JSON, wrong shape, unknown type", () => {
    expect(parseClientMessage("{not json")).toEqual({ ok: false, error: "invalid JSON" });
    expect(parseClientMessage([1, 2])).toMatchObject({ ok: false, error: expect.stringContaining("JSON object") });
    expect(parseClientMessage(42)).toMatchObject({ ok: false, error: expect.stringContaining("JSON object") });
    expect(parseClientMessage({ topic: "x" })).toMatchObject({ ok: false, error: expect.stringContaining('"type"') });
    expect(parseClientMessage({ type: "subscribe", id: "s" })).toEqual({ ok: false, id: "s", error: expect.stringContaining('"topic"') });
    expect(parseClientMessage({ type: "subscribe", topic: "x".repeat(201) })).toMatchObject({ ok: false });
    expect(parseClientMessage({ type: "dance", id: 3 })).toEqual({ ok: false, id: 3, error: expect.stringContaining('unknown message type "dance"') });
    expect(parseClientMessage({ type: "ping", id: { a: 1 } })).toMatchObject({ ok: false, error: expect.stringContaining('"id"') });
  });

  it("renders the server's control messages", () => {
    expect(JSON.parse(serverMessages.welcome("ws_1_2"))).toEqual({ type: "welcome", connection_id: "ws_1_2" });
    expect(JSON.parse(serverMessages.subscriptionConfirmed("job:a", { epoch: "e1", seq: 3 }, "x"))).toEqual({ type: "subscription_confirmed", topic: "job:a", epoch: "e1", seq: 3, id: "x" });
    expect(JSON.parse(serverMessages.subscriptionConfirmed("signals", { epoch: "e1", seq: 0, recovered: false }))).toEqual({ type: "subscription_confirmed", topic: "signals", epoch: "e1", seq: 0, recovered: false });
    expect(JSON.parse(serverMessages.pong(1_700_000_000_123))).toEqual({ type: "pong", timestamp: 1_700_000_000.123 });
    expect(JSON.parse(serverMessages.error("nope"))).toEqual({ type: "error", message: "nope" });
    expect(JSON.parse(serverMessages.serverShutdown("bye", 1000))).toEqual({ type: "server_shutdown", message: "bye", timestamp: 1 });
  });

  it("recognises a ping on one-topic sockets and ignores anything else", () => {
    expect(isPing({ type: "ping" })).toEqual({ ping: true, id: undefined });
    expect(isPing("hello")).toEqual({ ping: false });
  });
});

describe("realtime settings", () => {
  it("fills defaults and derives Bun's global WebSocket options", () => {
    const s = resolveRealtimeSettings();
    expect(s).toMatchObject({ tickMs: 50, maxConnections: 10_000, maxTopicsPerConnection: 100, metricsIntervalMs: 10_000, allowedOrigins: [] });
    expect(websocketOptions(s)).toEqual({
      idleTimeout: REALTIME_DEFAULTS.idleTimeoutSec, maxPayloadLength: 16 * 1024, backpressureLimit: 1024 * 1024,
      closeOnBackpressureLimit: false, sendPings: true, perMessageDeflate: false,
    });
  });

  it("names the field of an out-of-range value", () => {
    expect(() => resolveRealtimeSettings({ tickMs: 0 })).toThrow(RealtimeSettingsError);
    expect(() => resolveRealtimeSettings({ maxConnections: 1.5 })).toThrow(/maxConnections/);
    expect(resolveRealtimeSettings({ allowedOrigins: ["https://A.example/"] }).allowedOrigins).toEqual(["https://a.example"]);
  });
});
