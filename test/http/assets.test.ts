// Assets come only from the embedded map: every listed one is served, every other path is a 404.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "../../src/db/database";
import { ASSETS } from "../../src/http/assets";
import type { RunningServer } from "../../src/server/lifecycle";
import { freshDatabase } from "../support/db";
import { rawRequest, startTestServer, stopTestServer } from "../support/server";

let server: RunningServer;
let db: Database;
beforeAll(async () => {
  db = await freshDatabase("pglite");
  server = await startTestServer({ database: db });
});
afterAll(async () => {
  await stopTestServer(server);
  await db.close();
});

describe("embedded assets", () => {
  test("the page shell loads htmx 4 and its hx-ws extension from /static", async () => {
    const page = await (await fetch(`${server.url}/`)).text();
    expect(page).toContain('<script src="/static/htmx.min.js"></script>');
    expect(page).toContain('<script src="/static/hx-ws.min.js"></script>');
    const htmx = await fetch(`${server.url}/static/htmx.min.js`);
    expect(htmx.status).toBe(200);
    expect(htmx.headers.get("content-type")).toContain("text/javascript");
    expect(await htmx.text()).toContain("htmx");
    const ws = await (await fetch(`${server.url}/static/hx-ws.min.js`)).text();
    expect(ws).toContain("hx-ws");
  });

  test("every asset in the map is served with its content type", async () => {
    for (const name of Object.keys(ASSETS)) {
      const res = await fetch(`${server.url}/static/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(name.endsWith(".css") ? /text\/css/ : name.endsWith(".svg") ? /image\/svg\+xml/ : /javascript/);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });

  const hostile = [
    "/static/../package.json",
    "/static/../../etc/passwd",
    "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2fpackage.json",
    "/static/..\\..\\package.json",
    "/static/",
    "/static/main.js",
    "/static/gridcast",
    "/static/src/main.ts",
    "/static/htmx.min.js/../../package.json",
    "/static/%00htmx.min.js",
    "/static/constructor",
    "/static/__proto__",
    "/$bunfs/root/main.js",
    "/static//etc/passwd",
  ];
  for (const path of hostile) {
    test(`path traversal and unknown names get 404: ${path}`, async () => {
      const res = await rawRequest(server.port, path);
      expect([400, 404]).toContain(res.status);
      expect(res.body).not.toContain("root:x:0");
      expect(res.body).not.toContain('"name": "gridcast"');
      expect(res.body).not.toContain("startServer");
    });
  }
});
