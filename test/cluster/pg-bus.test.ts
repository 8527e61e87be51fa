// The PostgreSQL cluster bus between two nodes on one server: what one sends the other hears, in
// order, in few NOTIFYs under PostgreSQL's limit; what cannot be sent is dropped and counted; what
// another process puts on the channel is ignored; a LISTEN connection that dies is noticed, comes
// back, and the node is told to resync. Each test has a channel (or a database) of its own.
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import type { BusMessage, ClusterBus } from "../../src/cluster/bus";
import { createPgBus, listenAppName, PAYLOAD_MAX } from "../../src/cluster/pg-bus";
import { createLogger } from "../../src/log/logger";
import { eventually } from "../support/eventually";
import { scratchDatabase } from "../support/migrations";

const pgUrl = process.env.DATABASE_URL;
const HEARTBEAT = 100;

/** Log lines of a bus, to check what it said (warnings about dropped and hostile messages). */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ format: "json", level: "debug", write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

let channels = 0;
const channelName = () => `gridcast_test_${process.pid}_${++channels}`;

describe.skipIf(!pgUrl)("the cluster bus on PostgreSQL", () => {
  const buses: ClusterBus[] = [];
  const raw = pgUrl ? postgres(pgUrl, { max: 1, onnotice: () => {} }) : undefined;
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.stop()));
    await raw?.end();
  });

  function bus(self: string, channel: string, url = pgUrl!) {
    const { logger, lines } = recordingLogger();
    const b = createPgBus({ self, databaseUrl: url, flushMs: 10, heartbeatMs: HEARTBEAT, logger, channel });
    buses.push(b);
    return Object.assign(b, { lines });
  }

  /** Two started buses on one channel, each recording what it hears of type `x`. */
  async function pair(url?: string) {
    const channel = channelName();
    // Names of their own too: the LISTEN connection is found by its application_name.
    const a = bus(`node-a-${channels}`, channel, url);
    const b = bus(`node-b-${channels}`, channel, url);
    const heard = { a: [] as [BusMessage, string][], b: [] as [BusMessage, string][] };
    a.on("x", (m, from) => heard.a.push([m, from]));
    b.on("x", (m, from) => heard.b.push([m, from]));
    await Promise.all([a.start(), b.start()]);
    await eventually(() => a.status().listening && b.status().listening, { what: "both buses to prove their LISTEN" });
    return { a, b, heard, channel };
  }

  test("a message sent on one node reaches the other, not the sender; many sent together share one NOTIFY", async () => {
    const { a, b, heard } = await pair();
    for (let i = 0; i < 200; i++) a.send({ t: "x", i });
    b.send({ t: "x", from_b: true });
    await eventually(() => heard.b.length === 200 && heard.a.length === 1, { what: "all 200 messages on b and b's one on a" });
    expect(heard.b.map(([m]) => m.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(heard.b.every(([, from]) => from === a.self)).toBe(true);
    expect(heard.a).toEqual([[{ t: "x", from_b: true }, b.self]]);
    // 200 messages of ~16 bytes fit one payload: one NOTIFY, not 200.
    expect(a.status()).toMatchObject({ sent: 200, notifications: 1, dropped: 0, listening: true });
    expect(b.status().received).toBe(200);
    expect(a.status().received).toBe(1);
  });

  test("a bus is listening as soon as start() has run LISTEN (a daemon's first /health is not degraded for a ping's round trip)", async () => {
    const a = bus(`node-first-${channels}`, channelName());
    expect(a.status().listening).toBe(false);
    await a.start();
    expect(a.status().listening).toBe(true);
  });

  test("a keyed message replaces the one of its key still queued", async () => {
    const { a, heard } = await pair();
    for (let i = 0; i < 50; i++) a.send({ t: "x", job: "j1", done: i }, "job:j1");
    a.send({ t: "x", job: "j2", done: 1 }, "job:j2");
    await eventually(() => heard.b.length >= 2, { what: "the coalesced messages" });
    await eventually(() => a.status().sent === 2);
    expect(heard.b.map(([m]) => m)).toEqual([{ t: "x", job: "j1", done: 49 }, { t: "x", job: "j2", done: 1 }]);
  });

  test("what does not fit one NOTIFY is split into several, each under the limit, in order", async () => {
    const { a, heard, channel } = await pair();
    const payloads: string[] = [];
    const watcher = postgres(pgUrl!, { max: 1, onnotice: () => {} });
    try {
      await watcher.listen(channel, (p) => payloads.push(p));
      const filler = "é".repeat(500); // 1000 bytes in UTF-8: the limit is in bytes
      for (let i = 0; i < 40; i++) a.send({ t: "x", i, filler });
      await eventually(() => heard.b.length === 40, { what: "the 40 big messages on b" });
      expect(heard.b.map(([m]) => m.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      const mine = await eventually(() => { const p = payloads.filter((x) => x.includes(`"${a.self}"`) && !x.includes('"ping"')); return p.length >= 6 && p; });
      for (const p of mine) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(PAYLOAD_MAX);
      // 40 kB in payloads of at most 7.5 kB: 6 NOTIFYs (7 per payload), not 40.
      expect(a.status().notifications).toBe(Math.ceil(40 / 7));
    } finally {
      await watcher.end();
    }
  });

  test("a message too big for any NOTIFY is dropped with a warning and counted; the rest go, and send never throws", async () => {
    const { a, heard } = await pair();
    a.send({ t: "x", i: 1 });
    expect(() => a.send({ t: "x", huge: "z".repeat(PAYLOAD_MAX) })).not.toThrow();
    const circular: Record<string, unknown> = { t: "x" };
    circular.self = circular;
    expect(() => a.send(circular as BusMessage)).not.toThrow();
    a.send({ t: "x", i: 2 });
    await eventually(() => heard.b.length === 2, { what: "the two small messages" });
    expect(heard.b.map(([m]) => m.i)).toEqual([1, 2]);
    expect(a.status().dropped).toBe(2);
    expect(a.lines.some((l) => String(l.msg).includes("too big for one NOTIFY"))).toBe(true);
  });

  test("notifications from another process that are not gridcast messages are ignored and counted; a failing handler is logged; the bus goes on", async () => {
    const { a, b, heard, channel } = await pair();
    b.on("boom", () => { throw new Error("handler bug"); });
    const hostile = [
      "not json", "", "[1,2,3]", "null", '{"from":1,"m":[]}', '{"from":"evil"}', '{"from":"evil","m":{}}',
      '{"from":"evil","m":[1,null,[],{"t":5}]}', "{".repeat(7900), `"${"x".repeat(7990)}"`,
      '{"from":"evil","m":[{"t":"boom"}]}', '{"from":"evil","m":[{"t":"__proto__"},{"t":"constructor"}]}',
    ];
    for (const p of hostile) await raw!`select pg_notify(${channel}, ${p})`;
    a.send({ t: "x", after: true });
    await eventually(() => heard.b.length === 1, { what: "a's message after the junk" });
    expect(heard.b[0]).toEqual([{ t: "x", after: true }, a.self]);
    // 9 payloads with no usable envelope, and 4 messages without a type in another.
    expect(b.status().rejected).toBe(13);
    expect(b.status().listening).toBe(true);
    expect(b.lines.some((l) => l.msg === "a cluster bus handler failed")).toBe(true);
  });

  test("a killed LISTEN connection: postgres.js listens again, the node is told to resync and hears messages again", async () => {
    const { a, b, heard } = await pair();
    let resyncs = 0;
    b.onResync(() => resyncs++);
    const [row] = await raw!`select pid from pg_stat_activity where application_name = ${listenAppName(b.self)}`;
    expect(row).toBeDefined();
    await raw!`select pg_terminate_backend(${row.pid}::int)`;
    await eventually(() => resyncs === 1, { what: "b's resync after its LISTEN came back" });
    expect(b.status().listening).toBe(true);
    a.send({ t: "x", after: "reconnect" });
    await eventually(() => heard.b.some(([m]) => m.after === "reconnect"), { what: "a message after the reconnect" });
  });

  test("a LISTEN connection that cannot come back: the bus says it is not listening (since, why), then listens again once it can, and the node resyncs", async () => {
    const scratch = await scratchDatabase("gridcast_bus");
    const admin = postgres(pgUrl!, { max: 1, onnotice: () => {} });
    const name = new URL(scratch.url).pathname.slice(1);
    try {
      const { a, b, heard } = await pair(scratch.url);
      let resyncs = 0;
      b.onResync(() => resyncs++);
      // Nobody may connect to the database now (superusers neither); the open notify connection stays.
      await admin.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${listenAppName(b.self)}`;
      const down = await eventually(() => { const s = b.status(); return !s.listening && s; }, { what: "b to say it is not listening" });
      expect(down.error).toMatch(/ping not back|LISTEN failed/);
      expect(Date.parse(down.since!)).toBeGreaterThan(0);
      expect(resyncs).toBe(0);
      await admin.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await eventually(() => b.status().listening && resyncs >= 1, { what: "b listening again and resynced", timeoutMs: 15_000 });
      a.send({ t: "x", after: "outage" });
      await eventually(() => heard.b.some(([m]) => m.after === "outage"), { what: "a message after the outage" });
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      await admin.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => {});
      await admin.end();
      await scratch.drop();
    }
  });
});
