// The one error path: 404 JSON for the API, a page otherwise, a fragment for htmx; a thrown error
// is logged with context and answered 500 without a stack trace, and the server keeps serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { createApp } from "../../src/http/app";
import { healthRoutes } from "../../src/http/routes/health";
import { DomainError, type ErrorCode } from "../../src/errors";
import { statusOf } from "../../src/http/errors";
import { memoryLogger } from "../support/server";

const logger = memoryLogger();
const boom = new Elysia()
  .get("/api/boom", () => { throw new Error("secret internals at /srv/x.ts:12"); })
  .get("/boom", () => { throw new TypeError("page blew up"); })
  .get("/api/busy", () => { throw new DomainError("update_busy", "short and stout", { status: "queued" }); })
  .get("/api/code/:code", ({ params }) => { throw new DomainError(params.code as ErrorCode, `code ${params.code}`); })
  .get("/api/wrapped", () => { throw new Error("Failed query: insert into jobs ...", { cause: new DomainError("disk_full", "no room for the job") }); })
  .get("/api/enospc", () => { throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }); })
  .post("/api/echo", ({ body }) => body);
const health = {
  database: () => ({ kind: "pglite" as const, state: "open" as const, ping: async () => {} }),
  workers: () => ({ healthy: true, size: 1, busy: 0 }),
  websocket: () => ({ activeConnections: 0, totalConnectionsTracked: 0 }),
};
const app = createApp({ version: "test", logger }).use(healthRoutes(health)).use(boom);
let base: string;
beforeAll(() => {
  app.listen({ hostname: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${app.server!.port}`;
});
afterAll(() => app.stop(true));

describe("errors", () => {
  test("an unknown /api route is a 404 in JSON", async () => {
    const res = await fetch(`${base}/api/does-not-exist`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: "Not found" });
  });

  test("an unknown page is a 404 page, and an htmx request gets a fragment", async () => {
    const page = await fetch(`${base}/no/such/page`);
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toContain("text/html");
    const text = await page.text();
    expect(text).toContain("<!doctype html>");
    expect(text).toContain("Not found");
    const frag = await fetch(`${base}/no/such/page`, { headers: { "HX-Request": "true" } });
    const body = await frag.text();
    expect(body).toStartWith('<div class="error"');
    expect(body).not.toContain("<html");
  });

  test("a thrown error is logged with context and answered 500 without a stack trace", async () => {
    const res = await fetch(`${base}/api/boom`);
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.detail).toBe("internal error (logged on the server)");
    expect(JSON.stringify(body)).not.toContain("secret internals");
    const line = logger.lines.map((l) => JSON.parse(l)).find((l) => l.path === "/api/boom");
    expect(line).toMatchObject({ level: "error", msg: "request failed", method: "GET", path: "/api/boom" });
    expect(String(line.error)).toContain("secret internals");

    const page = await fetch(`${base}/boom`);
    expect(page.status).toBe(500);
    expect(await page.text()).not.toContain("page blew up");
    // ...and the server keeps serving.
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  test("a domain error is answered with its code's status, its message and extra fields", async () => {
    const res = await fetch(`${base}/api/busy`);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ detail: "short and stout", status: "queued" });
  });

  test("every domain code maps to one 4xx/5xx status, through the one error path", async () => {
    const codes: [ErrorCode, number][] = [
      ["malformed", 400], ["invalid", 422], ["not_found", 404], ["wrong_state", 409], ["update_busy", 409], ["queue_full", 429],
      ["too_large", 413], ["unsupported_type", 415], ["body_timeout", 408], ["store_unavailable", 503], ["disk_full", 507],
      ["unauthorized", 401], ["forbidden", 403], ["misdirected", 421], ["rate_limited", 429], ["upgrade_required", 426],
    ];
    for (const [code, status] of codes) {
      expect(statusOf(code)).toBe(status);
      const res = await fetch(`${base}/api/code/${code}`);
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ detail: `code ${code}` });
    }
  });

  test("a domain error wrapped by a driver, and a disk-full error from a file, keep their meaning (507, not 500)", async () => {
    const wrapped = await fetch(`${base}/api/wrapped`);
    expect(wrapped.status).toBe(507);
    expect(await wrapped.json()).toEqual({ detail: "no room for the job" });
    const enospc = await fetch(`${base}/api/enospc`);
    expect(enospc.status).toBe(507);
    expect((await enospc.json()).detail).toContain("no space left on device");
  });

  test("malformed JSON is a 400 with a clear message", async () => {
    const res = await fetch(`${base}/api/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toContain("malformed");
  });
});
