// GET /openapi.json and /docs: the document is valid OpenAPI 3.1 (checked by @readme/openapi-parser),
// names every mounted route (and nothing else) with the role ROUTE_ACCESS gives it, and the
// server's real answers fit the schemas it declares; /docs renders it from this server alone.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { validate } from "@readme/openapi-parser";
import Ajv2020 from "ajv/dist/2020";
import { openApiDocument, openApiPath, undescribed, type MountedRoute, type OpenApiDocument } from "../../src/http/openapi";
import { requirementOf, ROUTE_ACCESS } from "../../src/http/routes";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase, freshDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { randomGames } from "../support/reference";
import { makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";

type Doc = OpenApiDocument & { components: { schemas: Record<string, object> } };
type Operation = { responses: Record<string, { content?: Record<string, { schema: object }> }>; security?: unknown[]; "x-required-role": string; "x-websocket"?: boolean };

const operationOf = (doc: Doc, method: string, path: string) => doc.paths[openApiPath(path)]?.[method.toLowerCase()] as Operation | undefined;

/** The schema the document gives `METHOD path`'s answer of `status` (or its default), its $refs resolved. */
function answerSchema(doc: Doc, method: string, path: string, status: number, type = "application/json"): object {
  const op = operationOf(doc, method, path);
  if (!op) throw new Error(`${method} ${path} is not in the document`);
  const schema = (op.responses[status] ?? op.responses.default)?.content?.[type]?.schema;
  if (!schema) throw new Error(`${method} ${path} declares no ${type} answer for ${status}`);
  const resolve = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(resolve);
    if (s && typeof s === "object") {
      const ref = (s as { $ref?: string }).$ref;
      if (ref) return resolve(doc.components.schemas[ref.slice(ref.lastIndexOf("/") + 1)]);
      return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, resolve(v)]));
    }
    return s;
  };
  return resolve(schema) as object;
}

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

/** Fetches `path` and checks the answer against the document: its status must be declared, its JSON must fit. */
async function expectDeclared(doc: Doc, base: string, method: string, route: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, { method, ...init });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- checked against the schema next
  const body = (await res.json()) as any;
  const check = ajv.compile<typeof body>(answerSchema(doc, method, route, res.status));
  if (!check(body)) throw new Error(`${method} ${path} (${res.status}) does not fit its schema: ${ajv.errorsText(check.errors)}\n${JSON.stringify(body).slice(0, 400)}`);
  return { status: res.status, body };
}

const { csv } = randomGames(6, 5);

forEachDatabase("the OpenAPI document", (db) => {
  let server: RunningServer;
  let doc: Doc;
  const getDoc = async () => (await (await fetch(`${server.url}/openapi.json`)).json()) as Doc;

  beforeEach(async () => {
    server = await startTestServer({ database: db() });
    expect((await fetch(`${server.url}/api/games/import`, { method: "POST", body: csv, headers: { "content-type": "text/csv" } })).status).toBe(200);
    doc = await getDoc();
  });
  afterEach(() => stopTestServer(server));

  test("is valid OpenAPI 3.1, by @readme/openapi-parser", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(doc) as never);
    expect(result).toMatchObject({ valid: true, warnings: [] });
  });

  test("names every mounted route, and no other: a socket's upgrade and plain GET as one GET", () => {
    const routes = server.app.routes as readonly MountedRoute[];
    const sockets = new Set(routes.filter((r) => r.method === "WS").map((r) => r.path));
    const mounted = new Set(routes.filter((r) => !(sockets.has(r.path) && r.method === "GET")).map((r) => `${r.method === "WS" ? "get" : r.method.toLowerCase()} ${openApiPath(r.path)}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    expect([...documented].sort()).toEqual([...mounted].sort());
    expect(mounted.size).toBeGreaterThan(60);
    for (const path of sockets) expect(operationOf(doc, "GET", path)).toMatchObject({ "x-websocket": true, responses: { 101: expect.anything(), 426: expect.anything() } });
    expect(undescribed(routes)).toEqual([]);
  });

  test("every operation carries the role ROUTE_ACCESS gives its route; public ones need no security", () => {
    for (const r of server.app.routes as readonly MountedRoute[]) {
      const socket = r.method === "WS";
      const op = operationOf(doc, socket ? "GET" : r.method, r.path)!;
      expect({ route: `${r.method} ${r.path}`, role: op["x-required-role"] }).toEqual({ route: `${r.method} ${r.path}`, role: requirementOf(r.method, r.path)! });
      if (op["x-required-role"] === "public") expect(op.security).toEqual([]);
      else expect(op.responses[401]).toBeDefined();
    }
    expect(ROUTE_ACCESS["GET /openapi.json"]).toBe("viewer");
    expect(operationOf(doc, "POST", "/api/grid-search/run")!.responses[429]).toBeDefined(); // rate limited
  });

  test("a route mounted without a description stops the document, naming it", () => {
    const routes: MountedRoute[] = [{ method: "GET", path: "/described", hooks: { detail: { summary: "yes", responses: {} } } }, { method: "POST", path: "/forgotten" }];
    expect(() => openApiDocument(routes, { version: "t", requirementOf: () => "viewer", rateLimited: () => false })).toThrow("POST /forgotten");
  });

  test("the server's answers fit the schemas the document declares for them", async () => {
    const base = server.url;
    const post = (body: unknown): RequestInit => ({ method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    const grid = await expectDeclared(doc, base, "POST", "/api/grid-search/run", "/api/grid-search/run", post({ entry_start: 0.02, entry_stop: 0.1, entry_step: 0.02, exit_start: 0, exit_stop: 0.05, exit_step: 0.01 }));
    const sim = await expectDeclared(doc, base, "POST", "/api/simulation/run", "/api/simulation/run?entry=0.05&exit=0.01", { method: "POST" });
    for (const [kind, id] of [["grid-search", grid.body.request_id], ["simulation", sim.body.request_id]]) {
      await eventually(async () => (await (await fetch(`${base}/api/${kind}/progress/${id}`)).json()).status === "complete", { timeoutMs: 20_000, intervalMs: 20, what: `${kind} to complete` });
      await expectDeclared(doc, base, "GET", `/api/${kind}/progress/:id`, `/api/${kind}/progress/${id}`);
      const results = await expectDeclared(doc, base, "GET", `/api/${kind}/results/:id`, `/api/${kind}/results/${id}`);
      expect(results.status).toBe(200);
    }
    expect((await expectDeclared(doc, base, "GET", "/api/simulation/progress/:id", "/api/simulation/progress/00000000-0000-4000-8000-000000000000")).body.status).toBe("not_found");
    expect((await expectDeclared(doc, base, "GET", "/api/grid-search/progress/:id", "/api/grid-search/progress/nope")).status).toBe(404);
    expect((await expectDeclared(doc, base, "POST", "/api/grid-search/run", "/api/grid-search/run", post({ entry_start: "x" }))).status).toBe(422);
    await expectDeclared(doc, base, "GET", "/api/jobs", "/api/jobs");
    await expectDeclared(doc, base, "GET", "/api/games", "/api/games?per_page=3");
    await expectDeclared(doc, base, "GET", "/api/update/status", "/api/update/status");
    await expectDeclared(doc, base, "POST", "/api/games/demo", "/api/games/demo?games=3", { method: "POST" });
    await expectDeclared(doc, base, "GET", "/health", "/health");
    await expectDeclared(doc, base, "GET", "/api/websocket/status", "/api/websocket/status");
    await expectDeclared(doc, base, "GET", "/ws/stats", "/ws/stats");
    const created = await expectDeclared(doc, base, "POST", "/api/tokens", "/api/tokens", post({ name: "docs-test", role: "viewer", expires_in: "1d" }));
    expect(created.status).toBe(201);
    await expectDeclared(doc, base, "GET", "/api/tokens", "/api/tokens");
    const strategy = await expectDeclared(doc, base, "POST", "/api/strategies", "/api/strategies", post({ name: "s1", entry: 0.05, exit: 0.01, fee: 0 }));
    expect(strategy.status).toBe(201);
    await expectDeclared(doc, base, "GET", "/api/strategies", "/api/strategies");
    await expectDeclared(doc, base, "GET", "/api/strategies/:id", `/api/strategies/${strategy.body.id}`);
    await expectDeclared(doc, base, "POST", "/api/live/ticks", "/api/live/ticks", { method: "POST", body: '{"game_id":"lg-1","t":1,"price":0.5,"fair":0.6}\n', headers: { "content-type": "application/x-ndjson" } });
    await expectDeclared(doc, base, "GET", "/api/live/games", "/api/live/games");
    await expectDeclared(doc, base, "GET", "/api/signals", "/api/signals");
    await expectDeclared(doc, base, "POST", "/api/strategies/:id/stop", `/api/strategies/${strategy.body.id}/stop`, { method: "POST" });
    await expectDeclared(doc, base, "GET", "/api/metrics/history", "/api/metrics/history");
    await expectDeclared(doc, base, "GET", "/api/live/replay/:id", "/api/live/replay/nope"); // 404: the Error shape
    const docAnswer = await expectDeclared(doc, base, "GET", "/openapi.json", "/openapi.json");
    expect(docAnswer.status).toBe(200);
  });

  test("/docs renders every operation from this server's own assets", async () => {
    const res = await fetch(`${server.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    const page = await res.text();
    for (const path of Object.keys(doc.paths)) expect(page).toContain(`<code>${path.replace(/&/g, "&amp;")}</code>`);
    expect(page).toContain("request_id"); // a schema, shown as a type
    expect(page).toContain('<span class="badge" title="role needed">operator</span>');
    // Nothing from elsewhere, nothing inline: every src and href is this server's, no <style> and no inline script.
    for (const [, url] of page.matchAll(/(?:src|href)="([^"]*)"/g)) expect(url).toMatch(/^(\/|#)/);
    expect(page).not.toMatch(/<style|style=|<script(?![^>]*\bsrc=)/);
  });
});

describe("with --auth on", () => {
  let server: RunningServer;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    database = await freshDatabase("pglite");
    server = await startAuthServer({ database, config: { metricsPublic: true } });
  });
  afterAll(async () => {
    await stopTestServer(server);
    await database.close();
  });

  test("the document and its page need a viewer: a program without a token gets 401, a browser is sent to sign in", async () => {
    const anonymous = await fetch(`${server.url}/openapi.json`, { redirect: "manual" });
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).detail).toBeString();
    const page = await fetch(`${server.url}/docs`, { redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login?next=%2Fdocs");
    const viewer = await makeToken(server, "viewer");
    const res = await fetch(`${server.url}/openapi.json`, { headers: { authorization: viewer.bearer } });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Doc;
    // --metrics-public opens /metrics, and the document says so.
    expect(operationOf(doc, "GET", "/metrics")!["x-required-role"]).toBe("public");
    expect(operationOf(doc, "DELETE", "/api/games/:id")!["x-required-role"]).toBe("admin");
    expect((await fetch(`${server.url}/docs`, { headers: { authorization: viewer.bearer } })).status).toBe(200);
  });
});
