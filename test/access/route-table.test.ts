// The one table of route requirements (src/http/routes/index.ts ROUTE_ACCESS), walked: every
// mounted route is in it, and for every route, nobody, each lower role and the right role get
// what access.md says (401 or the way to /login, 403 naming the role, not refused).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { count } from "drizzle-orm";
import { Elysia } from "elysia";
import { ROLES, type Requirement, type Role } from "../../src/access/roles";
import { games, jobs, tokens } from "../../src/db/schema";
import { assertEveryRouteDeclared, ROUTE_ACCESS } from "../../src/http/routes";
import { isApiPath, isSocketPath } from "../../src/http/respond";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { makeToken, startAuthServer, stopTestServer, upgradeStatus } from "../support/server";

const JOB = "00000000-0000-4000-8000-000000000000";

/** A concrete request for a route pattern: ids filled in, and what a handler needs to get past its own checks. */
function requestFor(key: string, loginToken = ""): { method: string; path: string; body?: string; type?: string } {
  const [method, pattern] = key.split(" ") as [string, string];
  let path = pattern.replace(":id", JOB).replace("*", "app.css");
  if (pattern === "/api/games/demo") path += "?games=2&seed=1";
  if (pattern === "/api/games/:id") path = "/api/games/no-such-game";
  if (pattern === "/api/tokens/:id") path = "/api/tokens/no-such-token";
  // A sign-in with a good token, so the handler's own 401 for a bad one is not taken for the guard's.
  if (key === "POST /login") return { method, path, body: `token=${loginToken}`, type: "application/x-www-form-urlencoded" };
  return { method, path };
}

let loginToken = "";

async function send(server: RunningServer, key: string, authorization?: string): Promise<{ status: number; body: string; location: string | null }> {
  const r = requestFor(key, loginToken);
  const headers: Record<string, string> = authorization ? { authorization } : {};
  if (r.type) headers["content-type"] = r.type;
  if (r.method === "WS") {
    const status = await upgradeStatus(server.port, r.path, headers);
    return { status, body: "", location: null };
  }
  const res = await fetch(`${server.url}${r.path}`, { method: r.method, headers, body: r.body, redirect: "manual" });
  return { status: res.status, body: await res.text(), location: res.headers.get("location") };
}

const ENTRIES = Object.entries(ROUTE_ACCESS) as [string, Requirement][];
const below = (need: Requirement): Role[] => (need === "public" ? [] : ROLES.slice(0, ROLES.indexOf(need)));
const pathOf = (key: string) => key.split(" ")[1]!;

forEachDatabase("route table", (db) => {
  let server: RunningServer;
  let bearer: Record<Role, string>;

  beforeEach(async () => {
    server = await startAuthServer({ database: db() });
    bearer = {} as Record<Role, string>;
    for (const role of ROLES) {
      const made = await makeToken(server, role);
      bearer[role] = made.bearer;
      loginToken = made.token;
    }
  });
  afterEach(() => stopTestServer(server));

  test("every mounted route has exactly one entry in the table, and every entry is mounted", () => {
    const mounted = server.app.routes.map((r) => `${r.method} ${r.path}`);
    expect(mounted.filter((k) => !Object.hasOwn(ROUTE_ACCESS, k))).toEqual([]);
    expect(ENTRIES.map(([k]) => k).filter((k) => !mounted.includes(k))).toEqual([]);
    expect(new Set(mounted).size).toBe(mounted.length);
  });

  test("a route mounted without an entry stops the start, naming it", () => {
    const app = new Elysia().get("/health", () => "ok").get("/forgotten", () => "open?");
    expect(() => assertEveryRouteDeclared(app)).toThrow("GET /forgotten");
  });

  test("nobody, and each role below the requirement, is refused by every route; nothing changes in the store", async () => {
    const before = await storeCounts(server);
    for (const [key, need] of ENTRIES) {
      const anonymous = await send(server, key);
      if (need === "public") {
        expect([key, anonymous.status]).not.toEqual([key, 401]);
        expect([key, anonymous.status]).not.toEqual([key, 403]);
        continue;
      }
      if (isApiPath(pathOf(key)) || isSocketPath(pathOf(key))) {
        expect([key, anonymous.status]).toEqual([key, 401]);
        if (!key.startsWith("WS ") && isApiPath(pathOf(key))) expect(JSON.parse(anonymous.body)).toEqual({ detail: "authentication required" });
      } else {
        expect([key, anonymous.status]).toEqual([key, 303]);
        expect(anonymous.location).toStartWith("/login?next=");
      }
      for (const role of below(need)) {
        const low = await send(server, key, bearer[role]);
        expect([key, role, low.status]).toEqual([key, role, 403]);
        if (isApiPath(pathOf(key)) && !key.startsWith("WS ")) expect(JSON.parse(low.body)).toEqual({ detail: `requires role ${need}` });
      }
    }
    expect(await storeCounts(server)).toEqual(before);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  test("the required role, and every role above it, gets past the guard on every route", async () => {
    for (const [key, need] of ENTRIES) {
      if (need === "public") continue;
      for (const role of ROLES.slice(ROLES.indexOf(need))) {
        const r = await send(server, key, bearer[role]);
        // What the handler answers (200, 404 for the made-up id, 422, 426 for a plain GET on a socket...), never the guard's refusals.
        expect([key, role, [401, 403, 421, 429].includes(r.status)]).toEqual([key, role, false]);
        if (key.startsWith("WS ")) expect([key, r.status]).toEqual([key, 101]);
      }
    }
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  test("--metrics-public opens GET /metrics and nothing else", async () => {
    await stopTestServer(server);
    server = await startAuthServer({ database: db(), config: { metricsPublic: true } });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${server.url}/ws/stats`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/websocket/status`)).status).toBe(401);
  });
});

/** Games, jobs and tokens stored: what a refusal must leave as it was. */
async function storeCounts(server: RunningServer) {
  const db = server.database.get().db;
  const n = async (table: typeof games | typeof jobs | typeof tokens) => (await db.select({ n: count() }).from(table))[0]!.n;
  return { games: await n(games), jobs: await n(jobs), tokens: await n(tokens) };
}
