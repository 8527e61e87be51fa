// Access across nodes through the bus (src/access/cluster-bridge.ts), over a bus the test delivers
// by hand: a logout or a token revoked here is told to the others; hearing one, a node forgets the
// identity and its listeners (which close the sockets) hear it; after a resync, sessions of open
// sockets that ended meanwhile are found in the store; hostile ids are ignored.
import { expect, test } from "bun:test";
import { createAccess, SESSION_COOKIE } from "../../src/access";
import { bridgeAccess } from "../../src/access/cluster-bridge";
import type { BusMessage, ClusterBus } from "../../src/cluster/bus";
import { silentLogger } from "../../src/log/logger";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";

function handBus() {
  const handlers = new Map<string, ((m: BusMessage, from: string) => void)[]>();
  const resyncs: (() => void)[] = [];
  const sent: BusMessage[] = [];
  const bus: ClusterBus = {
    self: "me", send: (m) => void sent.push(m), on: (t, h) => void handlers.set(t, [...(handlers.get(t) ?? []), h]),
    onResync: (h) => void resyncs.push(h),
    status: () => ({ listening: true, sent: 0, notifications: 0, received: 0, dropped: 0, rejected: 0 }), start: async () => {}, stop: async () => {},
  };
  return { bus, sent, hear: (m: BusMessage) => handlers.get(m.t)?.forEach((h) => h(m, "other")), resync: () => resyncs.forEach((h) => h()) };
}

forEachDatabase("access across nodes", (db) => {
  async function setup(open: string[] = []) {
    const access = createAccess({ database: db(), mode: "on", sessionTtlMs: 60_000 });
    const wire = handBus();
    bridgeAccess(access, wire.bus, () => open, silentLogger);
    const ended: [string, boolean][] = [];
    const revoked: string[] = [];
    access.onSessionEnded((id, here) => ended.push([id, here]));
    access.onRevoked((id) => revoked.push(id));
    const token = await access.tokens.create({ name: "v", role: "viewer" });
    return { access, wire, ended, revoked, token };
  }
  const cookieHeader = (cookie: string) => ({ headers: new Headers({ cookie: `${SESSION_COOKIE}=${cookie}` }) });

  test("a logout here is told to the others; one heard from another node drops the cached session and tells the listeners", async () => {
    const { access, wire, ended, token } = await setup();
    const one = await access.login(token.token);
    expect((await access.identify(cookieHeader(one.cookie)))?.sessionId).toBe(one.identity.sessionId);
    expect(await access.logout(cookieHeader(one.cookie))).toBe(true);
    expect(wire.sent).toEqual([{ t: "session-revoked", id: one.identity.sessionId }]);
    expect(ended).toEqual([[one.identity.sessionId!, true]]);
    // Another node's logout: this node's cache still holds the session (2 s); the message drops it.
    const two = await access.login(token.token);
    await access.identify(cookieHeader(two.cookie));
    await access.sessions.end(two.cookie); // as the other node did
    wire.hear({ t: "session-revoked", id: two.identity.sessionId });
    expect(ended[1]).toEqual([two.identity.sessionId!, false]);
    await expect(access.identify(cookieHeader(two.cookie))).rejects.toThrow();
    expect(wire.sent.length).toBe(1); // what was heard is not sent back
  });

  test("a token revoked here is told to the others; one heard from another node is reported to the listeners at once", async () => {
    const { access, wire, revoked, token } = await setup();
    const other = await access.tokens.create({ name: "w", role: "viewer" });
    await access.tokens.revoke(token.id);
    expect(wire.sent).toEqual([{ t: "token-revoked", id: token.id }]);
    wire.hear({ t: "token-revoked", id: other.id });
    expect(revoked).toEqual([token.id, other.id]);
  });

  test("after a resync, open sockets' sessions that ended meanwhile are found in the store", async () => {
    const open: string[] = [];
    const { access, wire, ended, token } = await setup(open);
    const kept = await access.login(token.token);
    const gone = await access.login(token.token);
    open.push(kept.identity.sessionId!, gone.identity.sessionId!);
    await access.sessions.end(gone.cookie); // ended on another node while this one was not listening
    wire.resync();
    await eventually(() => ended.length === 1, { what: "the ended session reported" });
    expect(ended).toEqual([[gone.identity.sessionId!, false]]);
  });

  test("hostile ids in messages are ignored", async () => {
    const { wire, ended, revoked } = await setup();
    for (const id of [42, null, "'; drop table sessions; --", "tok_", "x".repeat(5000), { a: 1 }, "A".repeat(64)]) {
      wire.hear({ t: "token-revoked", id });
      wire.hear({ t: "session-revoked", id });
    }
    expect(ended).toEqual([]);
    expect(revoked).toEqual([]);
  });
});

