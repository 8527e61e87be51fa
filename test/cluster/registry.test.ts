// The node registry against a real store with injected clocks: a node whose clock stops is a node
// that died (its timers never fire), so leases run out without a sleep.
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createClusterRegistry, defaultNodeId, NodeIdInUse, type ClusterRegistry } from "../../src/cluster/registry";
import type { Database } from "../../src/db/database";
import { silentLogger } from "../../src/log/logger";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { FakeClock } from "../realtime/fakes";

const HEARTBEAT = 100;
const LEASE = 500;

function node(database: Database, id: string, clock: FakeClock, counts = { workers: 4, busy: 0 }, port = 3000): ClusterRegistry {
  return createClusterRegistry({
    database: () => database, clock, shared: true, self: { id, host: "127.0.0.1", port, version: "test" },
    heartbeatMs: HEARTBEAT, leaseMs: LEASE, counts: () => counts, logger: silentLogger,
  });
}

/** Two clocks that agree now; each node gets its own, so one can stop while the other goes on. */
const clocks = (): [FakeClock, FakeClock] => [new FakeClock(), new FakeClock()];

const rowsOf = (database: Database) => database.rows<{ id: string; last_heartbeat: string; busy: number }>(sql`select id, last_heartbeat, busy from nodes order by id`);

/** Moves a node's clock by one heartbeat and waits until that beat has read the list. */
async function beat(registry: ClusterRegistry, clock: FakeClock): Promise<void> {
  clock.advance(HEARTBEAT);
  const at = new Date(clock.now()).toISOString();
  await eventually(() => registry.view().as_of === at, { what: `a heartbeat at ${at}` });
}

forEachDatabase("node registry", (db) => {
  test("a node registers, lists itself and the other nodes, and heartbeats its counts", async () => {
    const [ca, cb] = clocks();
    const countsA = { workers: 4, busy: 0 };
    const a = node(db(), "a:1", ca, countsA, 1);
    const b = node(db(), "b:2", cb, { workers: 2, busy: 1 }, 2);
    await a.start();
    expect(a.view()).toMatchObject({ self: "a:1", stale: false, nodes: [{ id: "a:1", host: "127.0.0.1", port: 1, workers: 4, busy: 0 }] });
    await b.start();
    expect(b.view().nodes.map((n) => n.id)).toEqual(["a:1", "b:2"]);
    // A learns of B at its next heartbeat, which also stores its new counts.
    countsA.busy = 3;
    await beat(a, ca);
    expect(a.view().nodes.map((n) => n.id)).toEqual(["a:1", "b:2"]);
    const rows = await rowsOf(db());
    expect(rows.find((r) => r.id === "a:1")).toMatchObject({ busy: 3 });
    expect(Number(rows.find((r) => r.id === "a:1")!.last_heartbeat)).toBe(ca.now());
    expect((await a.refresh()).nodes[0]!.last_heartbeat).toBe(new Date(ca.now()).toISOString());
    await a.stop();
    await b.stop();
  });

  test("a second node with a live node's id is refused, naming the holder; its refusal leaves the holder's row", async () => {
    const [ca, cb] = clocks();
    const a = node(db(), "same", ca, undefined, 1);
    await a.start();
    cb.advance(LEASE - 1); // within the lease
    const b = node(db(), "same", cb, undefined, 2);
    const refused = await b.start().then(() => undefined, (e: Error) => e);
    expect(refused).toBeInstanceOf(NodeIdInUse);
    expect(refused!.message).toContain("node id same is in use by the daemon at 127.0.0.1:1 (gridcast test, last heartbeat 499 ms ago)");
    await b.stop();
    expect((await rowsOf(db())).map((r) => r.id)).toEqual(["same"]);
    await a.stop();
  });

  test("a dead node drops out of the list when its lease runs out, and its id is taken over", async () => {
    const [ca, cb] = clocks();
    const a = node(db(), "a", ca);
    const b = node(db(), "b", cb);
    await a.start();
    await b.start();
    // A dies: its clock stops. B heartbeats on; within the lease A is still listed.
    for (let t = 0; t < LEASE; t += HEARTBEAT) await beat(b, cb);
    expect(b.view().nodes.map((n) => n.id)).toEqual(["a", "b"]);
    await beat(b, cb);
    expect(b.view().nodes.map((n) => n.id)).toEqual(["b"]);
    // A new daemon with A's id is accepted once the lease has passed.
    const again = node(db(), "a", cb, undefined, 9);
    await again.start();
    expect(again.view().nodes.map((n) => `${n.id}@${n.port}`)).toEqual(["a@9", "b@3000"]);
    // The dead one, if it was only cut off, cannot renew the row it lost, and says so.
    await beat(a, ca);
    expect(a.view().error).toContain("node id a is held by the daemon at 127.0.0.1:9");
    await a.stop(); // deletes only its own row
    expect((await rowsOf(db())).map((r) => r.id)).toEqual(["a", "b"]);
    await again.stop();
    await b.stop();
  });

  test("a restart on the same machine, address and port takes its dead row over at once: that port is its own now", async () => {
    const [ca, cb] = clocks();
    const dead = node(db(), "n", ca, undefined, 7);
    await dead.start();
    cb.advance(HEARTBEAT);
    const restarted = node(db(), "n", cb, undefined, 7);
    await restarted.start();
    expect(restarted.view()).toMatchObject({ stale: false, nodes: [{ id: "n", port: 7, last_heartbeat: new Date(cb.now()).toISOString() }] });
    await restarted.stop();
  });

  test("a clean stop removes the node's row at once", async () => {
    const [ca, cb] = clocks();
    const a = node(db(), "a", ca);
    const b = node(db(), "b", cb);
    await a.start();
    await b.start();
    await a.stop();
    expect((await rowsOf(db())).map((r) => r.id)).toEqual(["b"]);
    expect((await b.refresh()).nodes.map((n) => n.id)).toEqual(["b"]);
    ca.advance(10 * HEARTBEAT);
    expect(ca.timers.size).toBe(0); // no heartbeat after stop
    await b.stop();
  });

  test("a store that stops answering leaves the last list, marked stale, until it answers again", async () => {
    const [ca] = clocks();
    const a = node(db(), "a", ca);
    await a.start();
    const before = a.view();
    db().breaker.injectFault("refuse");
    ca.advance(HEARTBEAT);
    await eventually(() => a.view().stale, { what: "the view to go stale" });
    expect(a.view()).toMatchObject({ stale: true, nodes: before.nodes, as_of: before.as_of });
    expect(a.view().error).toContain("refused");
    expect((await a.refresh()).stale).toBe(true);
    db().breaker.injectFault(undefined);
    await beat(a, ca);
    expect(a.view()).toMatchObject({ stale: false });
    expect(a.view().error).toBeUndefined();
    await a.stop();
  });

  test("before it registers, the view is stale and says so", () => {
    const view = node(db(), "a", new FakeClock()).view();
    expect(view).toMatchObject({ nodes: [], self: "a", stale: true, error: "not registered yet" });
  });

  test("rows of nodes gone for more than an hour are pruned when a node starts", async () => {
    await db().rows(sql`insert into nodes values ('old', 'x', 'h', 1, 0, 0, 1, 0, 'v')`);
    const a = node(db(), "a", new FakeClock());
    await a.start();
    expect((await rowsOf(db())).map((r) => r.id)).toEqual(["a"]);
    await a.stop();
  });
});

test("PGlite: the registry is this node alone, its counts read when asked, nothing stored", async () => {
  const clock = new FakeClock();
  const counts = { workers: 3, busy: 1 };
  const solo = createClusterRegistry({
    database: () => { throw new Error("the solo registry never touches the store"); }, clock, shared: false,
    self: { id: "me:1", host: "127.0.0.1", port: 1, version: "test" }, heartbeatMs: HEARTBEAT, leaseMs: LEASE,
    counts: () => counts, logger: silentLogger,
  });
  await solo.start();
  clock.advance(1000);
  counts.busy = 2;
  expect(solo.view()).toEqual({
    self: "me:1", stale: false, as_of: new Date(clock.now()).toISOString(),
    nodes: [{ id: "me:1", host: "127.0.0.1", port: 1, workers: 3, busy: 2, started_at: new Date(clock.now() - 1000).toISOString(), last_heartbeat: new Date(clock.now()).toISOString() }],
  });
  expect(clock.timers.size).toBe(0);
  await solo.stop();
});

test("the default node id is the host name and port, fitted to the node id rule", () => {
  expect(defaultNodeId("box-1.example.com", 3000)).toBe("box-1.example.com:3000");
  expect(defaultNodeId("_weird host/name", 80)).toBe("weird-host-name:80");
  expect(defaultNodeId("", 80)).toBe("node:80");
});
