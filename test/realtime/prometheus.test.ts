// GET /metrics: a valid text exposition (checked by a strict little parser), the same numbers as
// metrics_update, cumulative histograms, escaped label values, and the route over a real server.
import { afterEach, describe, expect, it } from "bun:test";
import { createHub } from "../../src/realtime/hub";
import { createMetricsPublisher, metricsUpdate, processMemory, type CollectMetrics, type MemoryFigures } from "../../src/realtime/metrics";
import { escapeLabelValue, formatPrometheus, formatValue, PROMETHEUS_CONTENT_TYPE } from "../../src/realtime/prometheus";
import { createRegistry } from "../../src/realtime/registry";
import { wireTopic } from "../../src/realtime/topics";
import { FakeClock, FakeTransport } from "./fakes";
import { Client, closeAll, ofType, startServer } from "./harness";

afterEach(closeAll);

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Family { type: string; help: string; samples: Sample[] }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value "${text}"`);
  return Number(text);
}

/** Labels `{a="x",b="y\"z"}` with the format's three escapes; throws on anything else. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    const name = text.slice(i, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || text[eq + 1] !== '"') throw new Error(`bad label at "${text.slice(i)}"`);
    let value = "";
    let j = eq + 2;
    for (; text[j] !== '"'; j++) {
      if (j >= text.length) throw new Error("unterminated label value");
      if (text[j] === "\n") throw new Error("raw line feed in a label value");
      if (text[j] !== "\\") { value += text[j]; continue; }
      const next = text[++j];
      if (next === "n") value += "\n";
      else if (next === "\\" || next === '"') value += next;
      else throw new Error(`bad escape \\${next}`);
    }
    if (name in labels) throw new Error(`label ${name} twice`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return labels;
}

/** Every sample belongs to a family declared (HELP and TYPE) before it; no family twice. */
function parseExposition(text: string): Map<string, Family> {
  expect(text.endsWith("\n")).toBe(true);
  const families = new Map<string, Family>();
  let current: string | null = null;
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, what, name, rest] = meta;
      expect(name).toMatch(NAME);
      if (what === "HELP") {
        if (families.has(name)) throw new Error(`family ${name} declared twice`);
        families.set(name, { type: "", help: rest, samples: [] });
        current = name;
      } else {
        expect(current).toBe(name);
        expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(rest);
        families.get(name)!.type = rest;
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name, labels, value] = m;
    const family = current ? families.get(current)! : undefined;
    const base = family?.type === "histogram" ? name.replace(/_(bucket|sum|count)$/, "") : name;
    if (!family || base !== current || !family.type) throw new Error(`sample ${name} outside its family (in ${current})`);
    family.samples.push({ name, labels: labels ? parseLabels(labels) : {}, value: parseValue(value) });
  }
  return families;
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name.replace(/_(bucket|sum|count)$/, "")) ?? families.get(name);
  const hit = family?.samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels));
  if (!hit) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return hit.value;
}

/** Buckets ascending by `le`, counts never falling, `+Inf` last and equal to `_count`, a `_sum`. */
function checkHistogram(families: Map<string, Family>, name: string): { le: number; count: number }[] {
  const f = families.get(name);
  expect(f?.type).toBe("histogram");
  const buckets = f!.samples.filter((s) => s.name === `${name}_bucket`).map((s) => ({ le: parseValue(s.labels.le), count: s.value }));
  expect(buckets.length).toBeGreaterThan(1);
  expect(buckets.at(-1)!.le).toBe(Infinity);
  for (let i = 1; i < buckets.length; i++) {
    expect(buckets[i].le).toBeGreaterThan(buckets[i - 1].le);
    expect(buckets[i].count).toBeGreaterThanOrEqual(buckets[i - 1].count);
  }
  expect(value(families, `${name}_count`)).toBe(buckets.at(-1)!.count);
  expect(Number.isFinite(value(families, `${name}_sum`))).toBe(true);
  return buckets;
}

const MEMORY: MemoryFigures = { rss_bytes: 52_428_800, heap_used_bytes: 8_000_000, heap_total_bytes: 12_000_000, external_bytes: 1_000 };

function setup(collect: CollectMetrics = () => ({ jobs: { queued: 1, running: 2, complete: 5 }, workers: { size: 2, alive: 2, busy: 1, restarts: 3, healthy: true } })) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const hub = createHub({ transport, clock, tickMs: 50 });
  const registry = createRegistry({ maxConnections: 100, maxConnectionsPerIp: 100, published: hub.published, clock });
  const metrics = createMetricsPublisher({ hub, registry, clock, intervalMs: 10_000, collect, memory: () => MEMORY });
  return { clock, transport, hub, registry, metrics };
}

describe("Prometheus exposition", () => {
  it("carries the same numbers as metrics_update, with HELP and TYPE for every family", () => {
    const { clock, transport, hub, registry, metrics } = setup();
    for (let i = 0; i < 3; i++) registry.open({ ip: "10.0.0.1", userAgent: "", endpoint: "/ws" });
    registry.open({ ip: "10.0.0.2", userAgent: "", endpoint: "/ws/grid-search/:id" });
    transport.listen(wireTopic("legacy", "job:a"), 250);
    transport.listen(wireTopic("ws", "job:a"), 3);
    for (let i = 1; i <= 20; i++) {
      hub.set("job:a", { status: "running", current: i, total: 20, current_combo: `${i}` }, clock.now() - 2); // counted 2 ms ago
      clock.advance(7); // coalesced: waits of up to one tick land in the latency histogram
    }
    clock.advance(100);
    transport.result = 0; // the next publish reports a drop
    hub.set("job:a", { status: "complete", current: 20, total: 20, current_combo: "20" });
    hub.recordDrop(2);

    const figures = metrics.figures();
    const update = metricsUpdate(figures, 10_000);
    const p = parseExposition(formatPrometheus(figures));

    expect(update.messages_total).toBeGreaterThan(4);
    expect(value(p, "gridcast_ws_connections")).toBe(update.connections as number);
    expect(value(p, "gridcast_ws_connections")).toBe(4);
    expect(value(p, "gridcast_ws_connections_by_endpoint", { endpoint: "/ws" })).toBe(3);
    expect(value(p, "gridcast_ws_messages_total")).toBe(update.messages_total as number);
    expect(value(p, "gridcast_ws_bytes_total")).toBe(update.bytes_total as number);
    expect(value(p, "gridcast_ws_deliveries_total")).toBe(update.deliveries_total as number);
    expect(value(p, "gridcast_ws_drops_total")).toBe(update.drops as number);
    expect(value(p, "gridcast_ws_drops_total")).toBe(4); // two publishes dropped (both formats) + recordDrop(2)
    expect(value(p, "gridcast_ws_topics")).toBe(update.topics as number);
    expect(value(p, "gridcast_ws_topic_messages_total", { kind: "job" })).toBe((update.busiest_topics as Record<string, number>)["job:a"]);
    const latency = update.publish_latency_ms as { count: number; sum_ms: number };
    expect(value(p, "gridcast_ws_publish_latency_seconds_count")).toBe(latency.count);
    expect(value(p, "gridcast_ws_publish_latency_seconds_sum")).toBeCloseTo(latency.sum_ms / 1000, 6);
    const age = update.publish_data_age_ms as { count: number; sum_ms: number; max_ms: number };
    expect(age.count).toBeGreaterThanOrEqual(2); // one per topic publish that had a source time (not the final one)
    expect(age.max_ms).toBeGreaterThanOrEqual(2);
    expect(value(p, "gridcast_ws_publish_data_age_seconds_count")).toBe(age.count);
    expect(value(p, "gridcast_ws_publish_data_age_seconds_sum")).toBeCloseTo(age.sum_ms / 1000, 6);
    for (const [state, n] of Object.entries(update.jobs as Record<string, number>)) expect(value(p, "gridcast_jobs", { state })).toBe(n);
    const workers = update.workers as Record<string, number>;
    expect(workers.utilisation).toBe(0.5);
    expect(value(p, "gridcast_workers_utilisation")).toBe(workers.utilisation);
    expect(value(p, "gridcast_workers_busy")).toBe(workers.busy);
    expect(value(p, "gridcast_workers_alive")).toBe(workers.alive);
    expect(value(p, "gridcast_workers_size")).toBe(workers.size);
    expect(value(p, "gridcast_workers_healthy")).toBe(1);
    expect(value(p, "gridcast_workers_restarts_total")).toBe(3);
    expect(p.get("gridcast_workers_restarts_total")!.type).toBe("counter");
    expect(update.memory).toEqual(MEMORY);
    expect(value(p, "process_resident_memory_bytes")).toBe(MEMORY.rss_bytes);
    expect(value(p, "gridcast_memory_heap_used_bytes")).toBe(MEMORY.heap_used_bytes);
    for (const [name, f] of p) {
      expect(f.help.length).toBeGreaterThan(0);
      if (name.endsWith("_total")) expect(f.type).toBe("counter");
    }
  });

  it("writes histograms cumulative, in seconds, ending in +Inf with _sum and _count", () => {
    const { clock, transport, hub, metrics } = setup();
    transport.listen(wireTopic("legacy", "job:a"), 1200);
    for (let i = 1; i <= 40; i++) {
      hub.set("job:a", { status: "running", current: i, total: 40, current_combo: "x".repeat(i * 10) });
      clock.advance(i % 3 === 0 ? 120 : 3);
    }
    const figures = metrics.figures();
    const p = parseExposition(formatPrometheus(figures));
    const latency = checkHistogram(p, "gridcast_ws_publish_latency_seconds");
    expect(latency[0].le).toBe(0.0005); // 0.5 ms, written in seconds without float noise
    const raw = figures.hub.histograms.publishLatencyMs;
    expect(latency.at(-1)!.count).toBe(raw.count);
    expect(latency.find((b) => b.le === 0.05)!.count).toBe(raw.counts.slice(0, 7).reduce((a, b) => a + b, 0));
    checkHistogram(p, "gridcast_ws_publish_data_age_seconds");
    const fanout = checkHistogram(p, "gridcast_ws_publish_fanout");
    expect(fanout.find((b) => b.le === 1000)!.count).toBe(0);
    expect(fanout.find((b) => b.le === 10_000)!.count).toBe(figures.hub.messages);
    const sizes = checkHistogram(p, "gridcast_ws_message_size_bytes");
    expect(value(p, "gridcast_ws_message_size_bytes_sum")).toBe(figures.hub.bytes);
    expect(sizes.at(-1)!.count).toBe(figures.hub.messages);
    // No delayed tier here: an empty histogram, nothing waiting.
    expect(checkHistogram(p, "gridcast_ws_delayed_lateness_seconds").at(-1)!.count).toBe(0);
    expect(value(p, "gridcast_ws_delayed_waiting")).toBe(0);
  });

  it("escapes backslash, double quote and line feed in label values", () => {
    const { registry, metrics } = setup(() => ({
      jobs: { 'odd"state\\x\ny': 1 }, workers: { "queue depth": 4, label: "not a number" }, gauge_from_lead: 7,
    }));
    registry.open({ ip: "1.2.3.4", userAgent: "", endpoint: "/ws", identity: { role: 'admin "root"\\\nline2', tier: "pro", token: null, tokenId: null } });
    const text = formatPrometheus(metrics.figures());
    expect(text).toContain('gridcast_ws_connections_by_role{role="admin \\"root\\"\\\\\\nline2"} 1');
    expect(text).toContain('gridcast_jobs{state="odd\\"state\\\\x\\ny"} 1');
    const p = parseExposition(text);
    expect(value(p, "gridcast_ws_connections_by_role", { role: 'admin "root"\\\nline2' })).toBe(1);
    expect(value(p, "gridcast_jobs", { state: 'odd"state\\x\ny' })).toBe(1);
    expect(value(p, "gridcast_workers_other", { field: "queue depth" })).toBe(4);
    expect(value(p, "gridcast_collected", { key: "gauge_from_lead" })).toBe(7);
    expect(escapeLabelValue("a\\b\"c\nd")).toBe('a\\\\b\\"c\\nd');
    expect([Infinity, -Infinity, NaN, 0.25].map(formatValue)).toEqual(["+Inf", "-Inf", "NaN", "0.25"]);
  });
});

describe("history, recovery and lag", () => {
  it("shows the history's memory, recoveries and the subscriptions behind, the same in metrics_update and the exposition", () => {
    const clock = new FakeClock();
    const transport = new FakeTransport();
    const hub = createHub({
      transport, clock, tickMs: 50, history: { size: 5, ttlMs: 60_000, maxBytes: 1 << 20 },
      resolveTopic: (t) => (t.startsWith("ev") ? { ok: true, events: true } : { ok: true, initial: { status: "not_found" } }),
    });
    const registry = createRegistry({ maxConnections: 100, maxConnectionsPerIp: 100, published: hub.published, latestSeq: hub.seqOfWire, clock });
    const metrics = createMetricsPublisher({ hub, registry, clock, intervalMs: 10_000, memory: () => MEMORY, topLagging: 2 });
    for (const t of ["ev:a", "ev:b"]) transport.listen(wireTopic("ws", t));
    for (let i = 1; i <= 8; i++) hub.emit("ev:a", { type: "tick", i }); // 8 sent, the last 5 held
    for (let i = 1; i <= 3; i++) hub.emit("ev:b", { type: "tick", i });
    const { epoch } = hub.position("ev:a");
    const held = hub.resume("ev:a", undefined, { epoch, seq: 5 }); // 6..8: held, replayed
    const tooOld = hub.resume("ev:a", undefined, { epoch, seq: 1 }); // 2 is gone: not recovered
    expect(held).toMatchObject({ recovered: true });
    expect(tooOld).toMatchObject({ recovered: false });

    // Four acking subscriptions: lags 0, 6, 2 and 1 (ev:a is at 8, ev:b at 3); one never acks.
    const subscribed = (topic: string, acked?: number) => {
      const a = registry.open({ ip: "10.0.0.1", userAgent: "", endpoint: "/ws", identity: { role: "viewer", tier: "pro", token: "secret-name", tokenId: "t1" } });
      if (!a.ok) throw new Error(a.reason);
      const wire = wireTopic("ws", topic);
      registry.subscribe(a.conn.id, wire, topic);
      if (acked !== undefined) registry.noteAck(a.conn.id, wire, acked);
      return a.conn.id;
    };
    subscribed("ev:a", 8);
    const furthest = subscribed("ev:a", 2);
    const second = subscribed("ev:b", 1);
    subscribed("ev:a", 7);
    subscribed("ev:b");

    const figures = metrics.figures();
    const update = metricsUpdate(figures, 10_000);
    const p = parseExposition(formatPrometheus(figures));
    const h = figures.hub.history;
    expect(h).toMatchObject({ topics: 2, messages: 5 + 3, recoveries: 2, recovered: 1, replayed: 3 });
    expect(h.bytes).toBeGreaterThan(8 * 10);
    expect(update.history).toEqual({ topics: 2, messages: 8, bytes: h.bytes, limits: { size: 5, ttl_ms: 60_000, max_bytes: 1 << 20 }, recoveries: 2, recovered: 1, replayed: 3 });
    expect(value(p, "gridcast_ws_history_topics")).toBe(2);
    expect(value(p, "gridcast_ws_history_messages")).toBe(8);
    expect(value(p, "gridcast_ws_history_bytes")).toBe(h.bytes);
    expect(value(p, "gridcast_ws_recoveries_total")).toBe(2);
    expect(value(p, "gridcast_ws_recovered_total")).toBe(1);
    expect(value(p, "gridcast_ws_replayed_messages_total")).toBe(3);
    for (const name of ["gridcast_ws_history_topics", "gridcast_ws_history_messages", "gridcast_ws_history_bytes"]) expect(p.get(name)!.type).toBe("gauge");
    for (const name of ["gridcast_ws_recoveries_total", "gridcast_ws_recovered_total", "gridcast_ws_replayed_messages_total"]) expect(p.get(name)!.type).toBe("counter");

    // The furthest behind first, bounded by topLagging; the same lag as the status report; no token name.
    const lag = update.lag as { acking: number; behind: number; max_lag: number; top: Record<string, unknown>[] };
    expect(lag).toMatchObject({ acking: 4, behind: 3, max_lag: 6 });
    expect(lag.top).toEqual([
      { connection: furthest, endpoint: "/ws", topic: "ev:a", role: "viewer", tier: "pro", acked: 2, seq: 8, lag: 6 },
      { connection: second, endpoint: "/ws", topic: "ev:b", role: "viewer", tier: "pro", acked: 1, seq: 3, lag: 2 },
    ]);
    const status = registry.status().connections.find((c) => c.id === furthest)!;
    expect(status.acks).toEqual([{ topic: "ev:a", seq: 8, acked: 2, lag: 6 }]);
    expect(JSON.stringify(update)).not.toContain("secret-name");
    expect(value(p, "gridcast_ws_acking_subscriptions")).toBe(4);
    expect(value(p, "gridcast_ws_lagging_subscriptions")).toBe(3);
    expect(value(p, "gridcast_ws_max_lag_messages")).toBe(6);
  });

  it("keeps the lag list bounded and ordered with many subscriptions behind", () => {
    const clock = new FakeClock();
    const transport = new FakeTransport();
    const hub = createHub({ transport, clock, tickMs: 50, resolveTopic: () => ({ ok: true, events: true }) });
    const registry = createRegistry({ maxConnections: 1000, maxConnectionsPerIp: 1000, published: hub.published, clock });
    const metrics = createMetricsPublisher({ hub, registry, clock, intervalMs: 10_000, memory: () => MEMORY });
    transport.listen(wireTopic("ws", "ev"));
    for (let i = 1; i <= 500; i++) hub.emit("ev", { i });
    let seed = 7;
    const acks: number[] = [];
    for (let i = 0; i < 300; i++) {
      const a = registry.open({ ip: "10.0.0.1", userAgent: "", endpoint: "/ws" });
      if (!a.ok) throw new Error(a.reason);
      registry.subscribe(a.conn.id, wireTopic("ws", "ev"), "ev");
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      acks.push(seed % 501);
      registry.noteAck(a.conn.id, wireTopic("ws", "ev"), acks.at(-1)!);
    }
    const lag = metrics.figures().lag;
    const lags = acks.map((a) => 500 - a).sort((x, y) => y - x);
    expect(lag.top.length).toBe(10);
    expect(lag.top.map((r) => r.lag)).toEqual(lags.slice(0, 10));
    expect(lag.behind).toBe(lags.filter((x) => x > 0).length);
    expect(lag.maxLag).toBe(lags[0]);
  });
});

/** Every sample's name and labels, as one string each: the series a scraper would store. */
const seriesOf = (families: Map<string, Family>) =>
  new Set([...families.values()].flatMap((f) => f.samples.map((x) => `${x.name}${JSON.stringify(x.labels)}`)));

describe("bounded label sets", () => {
  /** N jobs' topics published to the end (the hub forgets all but 3 finished ones), plus update and metrics. */
  function afterJobs(jobs: number) {
    const clock = new FakeClock();
    const transport = new FakeTransport();
    const hub = createHub({ transport, clock, tickMs: 50, retainTerminalTopics: 3 });
    const registry = createRegistry({ maxConnections: 100, maxConnectionsPerIp: 100, published: hub.published, clock });
    const metrics = createMetricsPublisher({ hub, registry, clock, intervalMs: 10_000, memory: () => MEMORY });
    for (const t of ["update", "metrics", "live:g1", "signals", "mystery"]) transport.listen(wireTopic("ws", t));
    hub.set("update", { is_running: true, message: "x" });
    hub.set("live:g1", { price: 1 });
    hub.set("signals", { n: 1 });
    hub.set("mystery", { n: 1 });
    for (let j = 0; j < jobs; j++) {
      const topic = `job:j${j}`;
      transport.listen(wireTopic("ws", topic)).listen(wireTopic("legacy", topic));
      hub.set(topic, { status: "running", current: 1, total: 2, current_combo: "" });
      clock.advance(60);
      hub.set(topic, { status: "complete", current: 2, total: 2, current_combo: "" });
      clock.advance(60);
    }
    metrics.publishNow();
    clock.advance(60);
    const figures = metrics.figures();
    return { figures, p: parseExposition(formatPrometheus(figures)) };
  }

  it("counts messages per topic kind, not per topic, so the series do not grow with the number of jobs", () => {
    const few = afterJobs(4);
    const many = afterJobs(40);
    expect(seriesOf(many.p)).toEqual(seriesOf(few.p));
    const kinds = (p: Map<string, Family>) => p.get("gridcast_ws_topic_messages_total")!.samples.map((x) => x.labels);
    expect(kinds(many.p)).toEqual(["job", "update", "metrics", "live", "signals", "other"].map((kind) => ({ kind })));
    // Still exact although the hub forgot 37 of the 40 finished job topics: two formats x two publishes each.
    expect(value(many.p, "gridcast_ws_topic_messages_total", { kind: "job" })).toBe(40 * 2 * 2);
    for (const kind of ["update", "metrics", "live", "signals", "other"]) expect(value(many.p, "gridcast_ws_topic_messages_total", { kind })).toBe(1);
    const perKind = many.p.get("gridcast_ws_topic_messages_total")!.samples.reduce((a, x) => a + x.value, 0);
    expect(perKind).toBe(value(many.p, "gridcast_ws_messages_total"));
  });
});

describe("memory figures", () => {
  it("add up: heap used <= heap total <= RSS, external apart, after the process allocates", () => {
    const keep: unknown[] = [];
    for (let i = 0; i < 20; i++) keep.push(Array.from({ length: 200_000 }, (_, j) => j + 0.5)); // large objects
    for (let i = 0; i < 100_000; i++) keep.push({ i, s: `x${i}` }); // small ones
    for (let i = 0; i < 20; i++) keep.push(new Uint8Array(1 << 20).fill(1)); // outside the heap
    Bun.gc(true);
    const m = processMemory();
    expect(m.heap_used_bytes).toBeGreaterThan(20 * 200_000 * 8);
    expect(m.heap_used_bytes).toBeLessThanOrEqual(m.heap_total_bytes);
    expect(m.heap_total_bytes).toBeLessThanOrEqual(m.rss_bytes);
    expect(m.external_bytes).toBeGreaterThanOrEqual(20 << 20);
    expect(m.heap_total_bytes + m.external_bytes).toBeLessThanOrEqual(m.rss_bytes);
    expect(keep.length).toBe(100_040);
  });
});

describe("GET /metrics", () => {
  it("answers in the text format with the figures a metrics subscriber just got", async () => {
    const s = await startServer({
      settings: { metricsIntervalMs: 60_000 },
      mount: { collect: () => ({ jobs: { running: 1, queued: 2 }, workers: { size: 2, alive: 2, busy: 2 } }) },
    });
    const c = await Client.connect(`${s.ws}/ws`);
    await c.next(ofType("welcome"));
    s.hub.set("job:x", { status: "running", current: 1, total: 2, current_combo: "" });
    c.send({ type: "subscribe", topic: "metrics" });
    const update = (await c.next(ofType("metrics_update"))).metrics;

    const res = await fetch(`${s.http}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
    const p = parseExposition(await res.text());
    expect(value(p, "gridcast_ws_connections")).toBe(update.connections);
    expect(value(p, "gridcast_ws_connections")).toBe(1);
    // The update was counted before it was itself published: one message, one delivery later.
    expect(value(p, "gridcast_ws_messages_total")).toBe(update.messages_total + 1);
    expect(value(p, "gridcast_ws_deliveries_total")).toBe(update.deliveries_total + 1);
    expect(value(p, "gridcast_jobs", { state: "queued" })).toBe(update.jobs.queued);
    expect(value(p, "gridcast_workers_utilisation")).toBe(update.workers.utilisation);
    expect(update.workers.utilisation).toBe(1);
    expect(value(p, "process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    checkHistogram(p, "gridcast_ws_publish_latency_seconds");
  });

  it("reports memory figures that add up on a live server after it allocates", async () => {
    const s = await startServer({ settings: { metricsIntervalMs: 60_000 } });
    const keep = [Array.from({ length: 2_000_000 }, (_, j) => j + 0.5), new Uint8Array(32 << 20).fill(1)];
    Bun.gc(true);
    const p = parseExposition(await (await fetch(`${s.http}/metrics`)).text());
    const rss = value(p, "process_resident_memory_bytes");
    const used = value(p, "gridcast_memory_heap_used_bytes");
    const total = value(p, "gridcast_memory_heap_total_bytes");
    const external = value(p, "gridcast_memory_external_bytes");
    expect(used).toBeGreaterThan(2_000_000 * 8);
    expect(used).toBeLessThanOrEqual(total);
    expect(total).toBeLessThanOrEqual(rss);
    expect(external).toBeGreaterThanOrEqual(32 << 20);
    expect(total + external).toBeLessThanOrEqual(rss);
    for (const name of ["process_resident_memory_bytes", "gridcast_memory_heap_used_bytes", "gridcast_memory_heap_total_bytes", "gridcast_memory_external_bytes"]) {
      expect(p.get(name)!.help.length).toBeGreaterThan(40); // each says what it counts
    }
    expect(keep.length).toBe(2);
  });
});
