import { describe, expect, it } from "bun:test";
import { createHub, type HubDeps } from "../../src/realtime/hub";
import { wireTopic } from "../../src/realtime/topics";
import { createLateTransport } from "../../src/realtime/transport";
import { FakeClock, FakeTransport, MemoryLogger } from "./fakes";

const MUX = wireTopic("ws", "job:a");
const LEGACY = wireTopic("legacy", "job:a");
const progress = (current: number, status = "running") => ({ status, current, total: 100, current_combo: `${current}` });

function setup(deps: Partial<HubDeps> = {}) {
  const transport = new FakeTransport();
  const clock = new FakeClock();
  const hub = createHub({ transport, clock, tickMs: 50, ...deps });
  return { transport, clock, hub };
}

describe("hub coalescing", () => {
  it("sends the first change after a quiet period at once", () => {
    const { hub, transport } = setup();
    transport.listen(MUX);
    hub.set("job:a", progress(1));
    expect(transport.on(MUX)).toEqual([{ type: "progress", topic: "job:a", progress: progress(1), seq: 1, epoch: expect.any(String) }]);
  });

  it("sends at most one message per tick for 100 rapid changes, and the last one carries the final state", () => {
    const { hub, transport, clock } = setup();
    transport.listen(MUX);
    const start = clock.now();
    for (let i = 1; i <= 100; i++) {
      hub.set("job:a", progress(i));
      clock.advance(1);
    }
    clock.advance(50); // let the last pending tick fire
    const msgs = transport.on(MUX) as { progress: { current: number }; seq: number }[];
    const duration = clock.now() - start;
    expect(msgs.length).toBeLessThanOrEqual(Math.ceil(duration / 50) + 1);
    expect(msgs.length).toBeGreaterThanOrEqual(2);
    expect(msgs.at(-1)!.progress.current).toBe(100);
    expect(msgs.map((m) => m.seq)).toEqual(msgs.map((_, i) => i + 1));
  });

  it("publishes a terminal state at once, even inside a tick, with its final counts", () => {
    const { hub, transport, clock } = setup();
    transport.listen(MUX);
    hub.set("job:a", progress(1));
    clock.advance(5);
    hub.set("job:a", progress(99));
    hub.set("job:a", progress(100, "complete"));
    const msgs = transport.on(MUX) as { progress: { status: string; current: number } }[];
    expect(msgs.map((m) => m.progress.status)).toEqual(["running", "complete"]);
    expect(msgs[1].progress.current).toBe(100);
    expect(clock.timers.size).toBe(0);
  });

  it("keeps one flush timer for many pending topics, and none while idle", () => {
    const { hub, transport, clock } = setup();
    for (let i = 0; i < 50; i++) {
      transport.listen(wireTopic("ws", `job:${i}`));
      hub.set(`job:${i}`, progress(0));
    }
    expect(clock.timers.size).toBe(0);
    for (let i = 0; i < 50; i++) hub.set(`job:${i}`, progress(1));
    expect(clock.timers.size).toBe(1);
    clock.advance(50);
    expect(clock.timers.size).toBe(0);
    expect(transport.sent.length).toBe(100);
  });

  it("numbers messages per topic, starting at 1 for each topic", () => {
    const { hub, transport, clock } = setup();
    transport.listen(MUX).listen(wireTopic("ws", "job:b"));
    hub.set("job:a", progress(1));
    hub.set("job:b", progress(1));
    clock.advance(60);
    hub.set("job:a", progress(2));
    const seqs = transport.sent.map((m) => [m.wire, JSON.parse(m.data).seq]);
    expect(seqs).toEqual([[MUX, 1], [wireTopic("ws", "job:b"), 1], [MUX, 2]]);
  });
});

describe("hub formats", () => {
  it("publishes once per wire topic per tick however many subscribers there are", () => {
    const { hub, transport, clock } = setup();
    transport.listen(MUX, 5000).listen(LEGACY, 3);
    for (let i = 0; i < 10; i++) {
      hub.set("job:a", progress(i));
      clock.advance(50);
    }
    expect(transport.sent.filter((m) => m.wire === MUX).length).toBe(10);
    expect(transport.sent.filter((m) => m.wire === LEGACY).length).toBe(10);
    expect(hub.stats().deliveries).toBe(10 * 5003);
  });

  it("renders each format once per tick, and not at all while nobody subscribes to it", () => {
    const { hub, transport, clock } = setup();
    let renders = 0;
    hub.addFormat("html", (topic, state) => (renders++, `<div id="${topic}">${state.current}</div>`));
    hub.set("job:a", progress(1));
    clock.advance(50);
    hub.set("job:a", progress(2));
    clock.advance(50);
    expect(renders).toBe(0);
    expect(transport.sent).toEqual([]);
    transport.listen(wireTopic("html", "job:a"), 40);
    hub.set("job:a", progress(3));
    expect(renders).toBe(1);
    expect(transport.sent).toEqual([{ wire: "html|job:a", data: '<div id="job:a">3</div>' }]);
    expect(hub.render("html", "job:a")).toBe('<div id="job:a">3</div>');
    expect(renders).toBe(1); // served from the cache for the same seq
  });

  it("renders the legacy socket messages of protocol.md", () => {
    const { hub, transport } = setup();
    transport.listen(LEGACY).listen("legacy|update").listen("ws|update");
    hub.set("job:a", progress(7));
    hub.set("update", { is_running: true, message: "Update in progress" });
    expect(transport.on(LEGACY)).toEqual([{ type: "progress", progress: progress(7), seq: 1 }]);
    expect(transport.on("legacy|update")).toEqual([{ type: "status", is_running: true, message: "Update in progress", seq: 1 }]);
    expect(transport.on("ws|update")).toEqual([
      { type: "status", topic: "update", is_running: true, message: "Update in progress", seq: 1, epoch: expect.any(String) },
    ]);
  });

  it("refuses a second format of the same name", () => {
    const { hub } = setup();
    expect(() => hub.addFormat("ws", () => "")).toThrow(/already registered/);
    expect(() => hub.addFormat("a|b", () => "")).toThrow(/format name/);
  });

  it("keeps serving other formats and topics when one renderer throws", () => {
    const logger = new MemoryLogger();
    const { hub, transport } = setup({ logger });
    hub.addFormat("broken", () => { throw new Error("boom"); });
    transport.listen("broken|job:a").listen(MUX);
    hub.set("job:a", progress(1));
    expect(transport.on(MUX).length).toBe(1);
    expect(hub.stats().errors).toBe(1);
    expect(logger.lines[0]).toMatchObject({ level: "error", msg: "realtime publish failed" });
  });
});

describe("hub snapshots and topics", () => {
  it("shows an unknown job as not_found, then its real state once the job exists", () => {
    const { hub } = setup();
    expect(hub.snapshot("job:new")).toEqual({ ok: true, seq: 0, state: { status: "not_found", current: 0, total: 0, current_combo: "" } });
    expect(hub.render("legacy", "job:new")).toBe(
      JSON.stringify({ type: "progress", progress: { status: "not_found", current: 0, total: 0, current_combo: "" }, seq: 0 }),
    );
    hub.set("job:new", progress(3));
    expect(hub.snapshot("job:new")).toEqual({ ok: true, seq: 1, state: progress(3) });
  });

  it("gives the latest state to a new subscriber even while it waits for its tick", () => {
    const { hub, clock } = setup();
    hub.set("job:a", progress(1));
    clock.advance(10);
    hub.set("job:a", progress(2));
    expect(hub.snapshot("job:a")).toEqual({ ok: true, seq: 1, state: progress(2) });
  });

  it("does not serve live, live:* or signals yet", () => {
    const { hub } = setup();
    for (const t of ["live", "live:1", "signals", "nope"]) expect(hub.snapshot(t).ok).toBe(false);
    expect(hub.snapshot("update")).toEqual({ ok: true, seq: 0, state: { is_running: false, message: "No update running" } });
    expect(hub.snapshot("metrics")).toEqual({ ok: true, seq: 0, state: undefined });
  });

  it("forgets the oldest finished topics past the retention limit", () => {
    const { hub } = setup({ retainTerminalTopics: 2 });
    for (const id of ["a", "b", "c"]) hub.set(`job:${id}`, progress(100, "complete"));
    expect(hub.snapshot("job:a")).toMatchObject({ seq: 0, state: { status: "not_found" } });
    expect(hub.snapshot("job:c")).toMatchObject({ seq: 1, state: { status: "complete" } });
    expect(hub.stats().topics).toBe(2);
  });
});

describe("hub counters", () => {
  it("counts messages, bytes, latency, drops and per-topic messages", () => {
    const { hub, transport, clock } = setup();
    const drops: string[] = [];
    hub.onDrop((w) => drops.push(w));
    transport.listen(MUX, 2);
    hub.set("job:a", progress(1));
    clock.advance(10);
    hub.set("job:a", progress(2)); // waits 40 ms for its tick
    clock.advance(50);
    transport.result = 0; // Bun: dropped for a subscriber
    clock.advance(50);
    hub.set("job:a", progress(3));
    const s = hub.stats();
    expect(s.messages).toBe(3);
    expect(s.bytes).toBe(transport.sent.reduce((n, m) => n + Buffer.byteLength(m.data), 0));
    expect(s.drops).toBe(1);
    expect(drops).toEqual([MUX]);
    expect(s.latency.count).toBe(3);
    expect(s.latency.max_ms).toBe(40);
    expect(hub.perTopicCounts()).toEqual({ "job:a": 3 });
    expect(hub.published(MUX).count).toBe(3);
  });

  it("records the age of the data a publish carries when set() says where it came from", () => {
    const { hub, transport, clock } = setup();
    const events: { seq: number; sourceAt?: number; at: number }[] = [];
    hub.onPublish((e) => events.push({ seq: e.seq, sourceAt: e.sourceAt, at: e.at }));
    transport.listen(MUX, 1);
    const t0 = clock.now();
    hub.set("job:a", progress(1), t0 - 3); // counted by a worker 3 ms before
    clock.advance(10);
    hub.set("job:a", progress(2), t0 + 8); // waits for its tick at t0 + 50
    clock.advance(40);
    hub.set("update", { is_running: false, message: "No update running" }); // no source time: no age
    const s = hub.stats();
    expect(events.filter((e) => e.sourceAt !== undefined)).toEqual([
      { seq: 1, sourceAt: t0 - 3, at: t0 },
      { seq: 2, sourceAt: t0 + 8, at: t0 + 50 },
    ]);
    expect(s.dataAge.count).toBe(2);
    expect(s.dataAge.max_ms).toBe(42);
    expect(s.histograms.dataAgeMs.sum).toBe(45);
  });

  it("publishes nothing through a late transport until it is bound", () => {
    const late = createLateTransport();
    const hub = createHub({ transport: late, clock: new FakeClock() });
    hub.set("job:a", progress(1));
    expect(hub.stats().messages).toBe(0);
    const fake = new FakeTransport().listen(MUX);
    late.bind(fake);
    hub.set("job:a", progress(100, "complete"));
    expect(fake.on(MUX)).toEqual([{ type: "progress", topic: "job:a", progress: progress(100, "complete"), seq: 2, epoch: expect.any(String) }]);
  });

  it("flushes pending states on close and arms no timer afterwards", () => {
    const { hub, transport, clock } = setup();
    transport.listen(MUX);
    hub.set("job:a", progress(1));
    hub.set("job:a", progress(2));
    hub.close();
    expect(transport.on(MUX).length).toBe(2);
    hub.set("job:a", progress(3));
    expect(clock.timers.size).toBe(0);
  });
});
