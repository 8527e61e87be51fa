// Connection lifecycle logs (README "Performance history and alerts"): each socket's open and
// close at debug level with its id, endpoint, duration, messages sent and close code, and one
// info line a minute while sockets are open; on a FakeClock with a memory logger.
import { afterEach, expect, it } from "bun:test";
import { eventually } from "../support/eventually";
import { MemoryLogger } from "./fakes";
import { Client, closeAll, startServer } from "./harness";

class DebugLogger extends MemoryLogger {
  debug(msg: string, fields?: Record<string, unknown>) { this.lines.push({ level: "debug", msg, fields }); }
}

afterEach(closeAll);

it("logs each connection's open and close with its id, endpoint, duration, messages sent and close code", async () => {
  const logger = new DebugLogger();
  const s = await startServer({ mount: { logger } });
  const c = await Client.connect(`${s.ws}/ws`);
  await c.next((m) => m.type === "welcome");
  const opened = logger.lines.find((l) => l.msg === "websocket open");
  expect(opened).toMatchObject({ level: "debug", fields: { id: expect.stringMatching(/^ws_\d+_\d+$/), endpoint: "/ws", role: "admin", tier: "pro" } });
  const id = opened!.fields!.id;
  await c.sync(); // a pong: two messages sent in all
  s.clock.advance(4_500);
  c.raw.close(4000, "bye");
  const closed = await eventually(() => logger.lines.find((l) => l.msg === "websocket close"), { what: "the close line" });
  expect(closed).toEqual({ level: "debug", msg: "websocket close", fields: { id, endpoint: "/ws", duration_ms: 4_500, messages_sent: 2, code: 4000 } });
});

it("writes one summary a minute while sockets are open, and stops when the last is gone", async () => {
  const logger = new DebugLogger();
  const s = await startServer({ mount: { logger } });
  const a = await Client.connect(`${s.ws}/ws`);
  const b = await Client.connect(`${s.ws}/ws/grid-search/job-1`);
  await a.sync();
  s.clock.advance(59_999);
  expect(logger.lines.filter((l) => l.msg === "websocket summary")).toEqual([]);
  s.clock.advance(1);
  const first = logger.lines.filter((l) => l.msg === "websocket summary");
  expect(first).toMatchObject([{ level: "info", fields: { connections: 2, by_endpoint: { "/ws": 1, "/ws/grid-search/:id": 1 }, opened: 2, closed: 0, seconds: 60 } }]);
  a.close();
  b.close();
  await eventually(() => s.registry.active() === 0, { what: "both sockets closed" });
  s.clock.advance(60_000);
  const all = logger.lines.filter((l) => l.msg === "websocket summary");
  expect(all.length).toBe(2);
  expect(all[1].fields).toMatchObject({ connections: 0, opened: 0, closed: 2 });
  // nobody connected: no more lines, no timer left behind
  s.clock.advance(600_000);
  expect(logger.lines.filter((l) => l.msg === "websocket summary").length).toBe(2);
});
