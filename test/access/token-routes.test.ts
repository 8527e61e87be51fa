// The admin token routes on their own (the guard, which requires admin, is tested with the route
// table): create answers the secret once, the list never does, revoke is 204/404, and bad input
// is a 4xx that stores nothing.
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createAccess } from "../../src/access";
import { createApp } from "../../src/http/app";
import { tokensRoutes } from "../../src/http/routes/tokens";
import { silentLogger } from "../../src/log/logger";
import { forEachDatabase } from "../support/db";

forEachDatabase("token routes", (db) => {
  const setup = () => {
    const access = createAccess({ database: db, mode: "on", sessionTtlMs: 60_000 });
    const app = createApp({ version: "test", logger: silentLogger }).use(tokensRoutes({ access, bodyTimeoutMs: 2000 }));
    const call = (method: string, path: string, body?: string, headers: Record<string, string> = { "content-type": "application/json" }) =>
      app.handle(new Request(`http://127.0.0.1:3000${path}`, { method, body, headers }));
    return { access, call };
  };

  test("POST creates and answers the token once; GET lists without secrets; DELETE revokes", async () => {
    const { access, call } = setup();
    const res = await call("POST", "/api/tokens", JSON.stringify({ name: "ci", role: "operator", tier: "pro", expires_in: "30d" }));
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const created = await res.json();
    expect(Object.keys(created)).toEqual(["id", "token", "name", "role", "tier", "created_at", "expires_at"]);
    expect(created).toMatchObject({ name: "ci", role: "operator", tier: "pro" });
    expect(created.token).toMatch(/^gct_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(30 * 86_400_000);
    expect((await access.tokens.verify(created.token))?.id).toBe(created.id);

    const seconds = await (await call("POST", "/api/tokens", JSON.stringify({ name: "short", role: "viewer", expires_in: 3600 }))).json();
    expect(Date.parse(seconds.expires_at) - Date.parse(seconds.created_at)).toBe(3_600_000);
    expect(seconds.tier).toBe("starter");

    const list = await call("GET", "/api/tokens");
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toContain(created.token);
    expect(text).not.toContain("hash");
    const { tokens } = JSON.parse(text);
    expect(tokens.map((t: { id: string }) => t.id).sort()).toEqual([created.id, seconds.id].sort());
    expect(tokens[0]).toHaveProperty("last_used_at");
    expect(tokens[0]).toHaveProperty("revoked_at", null);

    expect((await call("DELETE", `/api/tokens/${created.id}`)).status).toBe(204);
    expect(await access.tokens.verify(created.token)).toBeUndefined();
    expect((await call("DELETE", "/api/tokens/tok_nosuchtoken2")).status).toBe(404);
    for (const id of ["x", "%00", "tok_" + "a".repeat(500), "tok_AAAAAAAAAAAA"]) {
      const r = await call("DELETE", `/api/tokens/${id}`);
      expect(r.status).toBe(404);
      expect(await r.json()).toEqual({ detail: "Token not found" });
    }
  });

  test("bad input is refused with the reason and stores nothing", async () => {
    const { call } = setup();
    const cases: [string | undefined, number, string][] = [
      ["{", 400, "malformed"],
      ["", 400, "malformed"],
      ["[1,2]", 422, "JSON object"],
      ["null", 422, "JSON object"],
      ['"text"', 422, "JSON object"],
      [JSON.stringify({ role: "viewer" }), 422, "name"],
      [JSON.stringify({ name: 7, role: "viewer" }), 422, "name must be a string"],
      [JSON.stringify({ name: ["a"], role: "viewer" }), 422, "name must be a string"],
      [JSON.stringify({ name: "a\u0000b", role: "viewer" }), 422, "control characters"],
      [JSON.stringify({ name: "a\r\nINFO fake log line", role: "viewer" }), 422, "control characters"],
      [JSON.stringify({ name: "x".repeat(101), role: "viewer" }), 422, "at most 100"],
      [JSON.stringify({ name: "a", role: "root" }), 422, "role must be one of"],
      [JSON.stringify({ name: "a", role: null }), 422, "role must be one of"],
      [JSON.stringify({ name: "a", role: "viewer", tier: "gold" }), 422, "tier must be one of"],
      [JSON.stringify({ name: "a", role: "viewer", expires_in: -5 }), 422, "expires_in"],
      [JSON.stringify({ name: "a", role: "viewer", expires_in: 1.5 }), 422, "expires_in"],
      [JSON.stringify({ name: "a", role: "viewer", expires_in: "soon" }), 422, "expires_in"],
      [JSON.stringify({ name: "a", role: "viewer", expires_in: "99999d" }), 422, "expires_in"],
      [JSON.stringify({ name: "a", role: "viewer", expires_in: { d: 1 } }), 422, "expires_in"],
      [JSON.stringify({ name: "x".repeat(20_000), role: "viewer" }), 413, "larger than"],
    ];
    for (const [body, status, detail] of cases) {
      const res = await call("POST", "/api/tokens", body);
      expect({ body: body?.slice(0, 60), status: res.status }).toEqual({ body: body?.slice(0, 60), status });
      expect((await res.json()).detail).toContain(detail);
    }
    const form = await call("POST", "/api/tokens", "name=a&role=admin", { "content-type": "application/x-www-form-urlencoded" });
    expect(form.status).toBe(422);
    expect((await db().rows(sql`select id from tokens`)).length).toBe(0);
  });

  test("a name with HTML is stored as typed and answered as JSON, not markup", async () => {
    const { call } = setup();
    const res = await call("POST", "/api/tokens", JSON.stringify({ name: "<img src=x onerror=alert(1)>", role: "viewer" }));
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect((await res.json()).name).toBe("<img src=x onerror=alert(1)>");
  });
});
