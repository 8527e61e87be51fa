// Sockets and identities (access.md): an upgrade authenticates with a bearer token or the session
// cookie (never a token in the URL), each socket is counted by its real role and tier, and a
// revoked or expired token's sockets close with 4001 within the 1 s sweep, others left open.
import { afterEach, expect, test } from "bun:test";
import { TokenStore } from "../../src/access/tokens";
import type { RunningServer } from "../../src/server/lifecycle";
import { Client, closeAll } from "../realtime/harness";
import { FakeClock } from "../realtime/fakes";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { makeToken, startAuthServer, startTestServer, stopTestServer, upgradeStatus } from "../support/server";

const JOB = "00000000-0000-4000-8000-000000000000";
const PATHS = ["/ws", `/ws/grid-search/${JOB}`];

let server: RunningServer | undefined;
afterEach(async () => {
  await closeAll();
  if (server) await stopTestServer(server);
  server = undefined;
});

const wsUrl = (s: RunningServer, path: string) => `${s.url.replace(/^http/, "ws")}${path}`;

/** A session cookie made from an existing token, as POST /login makes it. */
async function sessionOf(s: RunningServer, token: string): Promise<string> {
  const login = await s.access.login(token);
  return `gridcast_session=${login.cookie}`;
}

/** Opens a socket on each of PATHS with the given headers. */
const openAll = (s: RunningServer, headers: Record<string, string>) => Promise.all(PATHS.map((p) => Client.connect(wsUrl(s, p), headers)));

/** True when the socket still answers a ping (both the mux and the job sockets do). */
async function stillOpen(c: Client): Promise<boolean> {
  await c.sync();
  return !c.isClosed;
}

async function getJson(s: RunningServer, path: string, authorization: string) {
  const res = await fetch(`${s.url}${path}`, { headers: { authorization } });
  expect(res.status).toBe(200);
  return { text: await res.clone().text(), json: await res.json() };
}

forEachDatabase("sockets with auth on", (db) => {
  test("a bearer token and a session cookie each open /ws and /ws/grid-search/{id}", async () => {
    server = await startAuthServer({ database: db() });
    const viewer = await makeToken(server, "viewer", { name: "watcher" });
    const byBearer = await openAll(server, { authorization: viewer.bearer });
    const byCookie = await openAll(server, { cookie: await sessionOf(server, viewer.token) });
    for (const c of [...byBearer, ...byCookie]) expect(await stillOpen(c)).toBe(true);
    expect((await byBearer[1]!.next()).type).toBe("progress"); // the job socket answers with the job's state
    expect((await byCookie[1]!.next()).type).toBe("progress");
    await eventually(() => server!.realtime.sockets.size() === 4);
  });

  test("an upgrade with no identity, a bad one, or a token only in the query string is refused 401", async () => {
    server = await startAuthServer({ database: db() });
    const admin = await makeToken(server, "admin");
    for (const path of PATHS) {
      expect(await upgradeStatus(server.port, path)).toBe(401);
      expect(await upgradeStatus(server.port, path, { authorization: `Bearer ${admin.token.slice(0, 20)}` })).toBe(401);
      expect(await upgradeStatus(server.port, path, { cookie: "gridcast_session=forged-or-stale" })).toBe(401);
      for (const q of [`token=${admin.token}`, `access_token=${admin.token}`, `authorization=Bearer%20${admin.token}`]) {
        expect(await upgradeStatus(server.port, `${path}?${q}`)).toBe(401);
      }
      expect(await upgradeStatus(server.port, path, { authorization: admin.bearer })).toBe(101);
    }
    const refused = Client.start(wsUrl(server, `/ws?token=${admin.token}`));
    expect((await refused.closed).code).not.toBe(1000); // never opened
    expect(refused.inbox).toEqual([]);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  test("DELETE /api/tokens/{id} closes the token's sockets, bearer and session alike, with 4001; other tokens' stay open", async () => {
    server = await startAuthServer({ database: db() });
    const admin = await makeToken(server, "admin");
    const doomed = await makeToken(server, "operator", { name: "doomed" });
    const other = await makeToken(server, "viewer", { name: "other" });
    const cookie = await sessionOf(server, doomed.token);
    const mine = [...await openAll(server, { authorization: doomed.bearer }), ...await openAll(server, { cookie })];
    const theirs = await openAll(server, { authorization: other.bearer });
    await eventually(() => server!.realtime.sockets.size() === 6);

    const res = await fetch(`${server.url}/api/tokens/${doomed.id}`, { method: "DELETE", headers: { authorization: admin.bearer } });
    expect(res.status).toBeLessThan(300);
    for (const c of mine) expect(await c.closed).toEqual({ code: 4001, reason: "unauthorized" });
    for (const c of theirs) expect(await stillOpen(c)).toBe(true);
    // The session made from the token ended with it; the token itself is refused.
    expect((await fetch(`${server.url}/api/jobs`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${server.url}/api/jobs`, { headers: { authorization: doomed.bearer } })).status).toBe(401);
    expect(await upgradeStatus(server.port, "/ws", { cookie })).toBe(401);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  test("a token revoked by another process, or expiring, has its sockets closed by the next 1 s sweep", async () => {
    const clock = new FakeClock();
    server = await startAuthServer({ database: db(), clock });
    // What `gridcast token revoke` does from another process sharing the store: no listener here hears it.
    const elsewhere = new TokenStore(() => db(), () => clock.now());
    const revoked = await makeToken(server, "viewer", { name: "revoked-elsewhere" });
    const expiring = await makeToken(server, "viewer", { name: "expiring", expiresAt: new Date(clock.now() + 500) });
    const keeper = await makeToken(server, "viewer", { name: "keeper" });
    const a = await openAll(server, { authorization: revoked.bearer });
    const b = await openAll(server, { cookie: await sessionOf(server, expiring.token) });
    const k = await openAll(server, { authorization: keeper.bearer });
    await eventually(() => server!.realtime.sockets.size() === 6);

    expect(await elsewhere.revoke(revoked.id)).toBe(true);
    for (const c of [...a, ...b, ...k]) expect(await stillOpen(c)).toBe(true); // nothing before the sweep
    clock.advance(1000); // one sweep period: the expiry (at +500 ms) and the revocation are both due
    for (const c of [...a, ...b]) expect(await c.closed).toEqual({ code: 4001, reason: "unauthorized" });
    for (const c of k) expect(await stillOpen(c)).toBe(true);
    await eventually(() => server!.realtime.stats().total_connections === 2);
  });

  test("/ws/stats counts real roles and tiers; /api/websocket/status names each socket's role, tier and token", async () => {
    server = await startAuthServer({ database: db() });
    const admin = await makeToken(server, "admin", { name: "root", tier: "pro" });
    const odd = `<script>alert("x")</script> & 'q'`;
    const viewer = await makeToken(server, "viewer", { name: odd, tier: "pro" });
    const operator = await makeToken(server, "operator", { name: "ops" });
    await Client.connect(wsUrl(server, "/ws"), { authorization: viewer.bearer });
    await Client.connect(wsUrl(server, `/ws/grid-search/${JOB}`), { cookie: await sessionOf(server, viewer.token) });
    await Client.connect(wsUrl(server, "/ws"), { authorization: operator.bearer });
    await eventually(() => server!.realtime.sockets.size() === 3);

    const stats = (await getJson(server, "/ws/stats", admin.bearer)).json;
    expect(stats).toMatchObject({ total_connections: 3, by_role: { viewer: 2, operator: 1 }, by_tier: { pro: 2, starter: 1 } });
    const { json, text } = await getJson(server, "/api/websocket/status", admin.bearer);
    const seen = json.connections.map((c: { endpoint: string; role: string; tier: string; token: string }) => [c.endpoint, c.role, c.tier, c.token]);
    expect(seen.sort()).toEqual([
      ["/ws", "operator", "starter", "ops"], ["/ws", "viewer", "pro", odd], ["/ws/grid-search/:id", "viewer", "pro", odd],
    ].sort());
    expect(text).toContain(JSON.stringify(odd)); // a JSON string, quotes escaped
    // On a page the same name is escaped, never markup.
    const page = await (await fetch(`${server.url}/`, { headers: { cookie: await sessionOf(server, viewer.token) } })).text();
    expect(page).not.toContain("<script>alert");
    expect(page).toContain("&lt;script&gt;alert(");
    // Control characters never become a name, so never reach a report or a log line.
    const before = await server.access.tokens.list();
    const bad = await fetch(`${server.url}/api/tokens`, {
      method: "POST", headers: { authorization: admin.bearer, "content-type": "application/json" },
      body: JSON.stringify({ name: "evil\u001b[2J\nadmin", role: "viewer" }),
    });
    expect(bad.status).toBe(422);
    expect(await server.access.tokens.list()).toEqual(before);
  });
});

forEachDatabase("sockets with auth off", (db) => {
  test("every socket is admin with tier pro and no token", async () => {
    server = await startTestServer({ database: db() });
    await Client.connect(wsUrl(server, "/ws"));
    await Client.connect(wsUrl(server, `/ws/grid-search/${JOB}`));
    await eventually(() => server!.realtime.sockets.size() === 2);
    const stats = await (await fetch(`${server.url}/ws/stats`)).json();
    expect(stats).toMatchObject({ by_role: { admin: 2 }, by_tier: { pro: 2 } });
    const status = await (await fetch(`${server.url}/api/websocket/status`)).json();
    for (const c of status.connections) expect(c).toMatchObject({ role: "admin", tier: "pro", token: null });
  });
});
