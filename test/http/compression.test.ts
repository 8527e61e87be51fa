// Compressed responses: a client that accepts gzip or brotli gets a body that decodes to the very
// bytes a plain client gets; small bodies, refused encodings (q=0), HEAD, 204, upgrades and
// already-encoded bodies go plain; results and exports compress as streams, errors too.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { compressResponse, COMPRESSION } from "../../src/http/compression";
import { createApp } from "../../src/http/app";
import { invalid } from "../../src/errors";
import { silentLogger } from "../../src/log/logger";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase, freshDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { randomGames } from "../support/reference";
import { makeSession, makeToken, rawRequest, startAuthServer, startTestServer, stopTestServer } from "../support/server";

/** The bytes as sent: Bun's fetch would otherwise decode them (and asks for gzip, br and zstd itself). */
async function wire(url: string, acceptEncoding: string | null, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("accept-encoding", acceptEncoding ?? "identity");
  const res = await fetch(url, { ...init, headers, decompress: false } as RequestInit);
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

const decode = (encoding: string | null, bytes: Buffer) =>
  encoding === "gzip" ? gunzipSync(bytes) : encoding === "br" ? brotliDecompressSync(bytes) : bytes;

/** Plain, gzip and br of one URL: the encoded ones decode to the plain bytes, and are smaller. */
async function expectSameBytes(url: string, plainLength?: (n: number) => void) {
  const plain = await wire(url, null);
  expect(plain.res.status).toBe(200);
  expect(plain.res.headers.get("content-encoding")).toBeNull();
  expect(plain.res.headers.get("vary")).toContain("Accept-Encoding");
  plainLength?.(plain.bytes.byteLength);
  for (const encoding of ["gzip", "br"]) {
    const got = await wire(url, encoding);
    expect(got.res.status).toBe(200);
    expect(got.res.headers.get("content-encoding")).toBe(encoding);
    expect(got.res.headers.get("vary")).toContain("Accept-Encoding");
    expect(got.res.headers.get("content-length")).toBeNull(); // the plain length would be a lie
    expect(got.res.headers.get("content-type")).toBe(plain.res.headers.get("content-type"));
    expect(got.bytes.byteLength).toBeLessThan(plain.bytes.byteLength);
    expect(decode(encoding, got.bytes).equals(plain.bytes)).toBe(true);
  }
  return plain.bytes;
}

const { csv } = randomGames(12, 99);

forEachDatabase("compressed responses", (db) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startTestServer({ database: db() });
    expect((await fetch(`${server.url}/api/games/import`, { method: "POST", body: csv, headers: { "content-type": "text/csv" } })).status).toBe(200);
  });
  afterEach(() => stopTestServer(server));

  async function completedGrid(): Promise<string> {
    const run = await fetch(`${server.url}/api/grid-search/run?entry_start=0.01&entry_stop=0.2&entry_step=0.01&exit_start=0&exit_stop=0.1&exit_step=0.01`, { method: "POST" });
    const { request_id } = await run.json();
    await eventually(async () => (await (await fetch(`${server.url}/api/grid-search/progress/${request_id}`)).json()).status === "complete",
      { timeoutMs: 20_000, intervalMs: 20, what: "the grid search to complete" });
    return request_id;
  }

  test("a grid search's streamed results JSON: gzip and br decode to the plain bytes", async () => {
    const id = await completedGrid();
    const plain = await expectSameBytes(`${server.url}/api/grid-search/results/${id}`);
    expect(JSON.parse(plain.toString()).pairs.length).toBeGreaterThan(100);
  });

  test("the results downloads (JSON and CSV) and the games export compress as streams", async () => {
    const id = await completedGrid();
    await expectSameBytes(`${server.url}/jobs/${id}/results.json`);
    const resultsCsv = await expectSameBytes(`${server.url}/jobs/${id}/results.csv`);
    expect(resultsCsv.toString().split("\n").length).toBeGreaterThan(100);
    const games = await expectSameBytes(`${server.url}/api/games/export.csv`);
    expect(games.toString()).toContain("rg-1");
  });

  test("the embedded assets compress and keep their type; a client sending no Accept-Encoding gets them plain", async () => {
    await expectSameBytes(`${server.url}/static/htmx.min.js`, (n) => expect(n).toBeGreaterThan(10_000));
    await expectSameBytes(`${server.url}/static/app.css`);
    const raw = await rawRequest(Number(new URL(server.url).port), "/static/app.css");
    expect(raw.status).toBe(200);
    expect(raw.head.toLowerCase()).not.toContain("content-encoding");
  });

  test("q-values: brotli when preferred, gzip when br is refused with q=0, plain when both or * are", async () => {
    const url = `${server.url}/static/htmx.min.js`;
    const encodingFor = async (ae: string) => (await wire(url, ae)).res.headers.get("content-encoding");
    expect(await encodingFor("gzip, deflate, br, zstd")).toBe("br"); // what browsers send: a tie, brotli is smaller
    expect(await encodingFor("br;q=0, gzip")).toBe("gzip");
    expect(await encodingFor("gzip;q=1, br;q=0.5")).toBe("gzip");
    expect(await encodingFor("br;q=0.9, gzip;q=0.1")).toBe("br");
    expect(await encodingFor("gzip;q=0, br;q=0")).toBeNull();
    expect(await encodingFor("*;q=0")).toBeNull();
    expect(await encodingFor("*")).toBe("br");
    expect(await encodingFor("deflate, zstd")).toBeNull(); // nothing we send
    expect(await encodingFor("identity")).toBeNull();
    expect(await encodingFor("GZIP")).toBe("gzip");
    expect(await encodingFor("gzip;q=bogus, br;q=")).not.toBe("garbage"); // a malformed header is no error
    expect((await wire(url, "gzip;q=bogus, ,;;, br;q=")).res.status).toBe(200);
  });

  test("small bodies go plain with their length; HEAD, 204 and a socket's upgrade are never encoded", async () => {
    const small = await wire(`${server.url}/api/update/status`, "gzip, br");
    expect(small.bytes.byteLength).toBeLessThan(COMPRESSION.minBytes);
    expect(small.res.headers.get("content-encoding")).toBeNull();
    expect(small.res.headers.get("vary")).toContain("Accept-Encoding");
    expect(JSON.parse(small.bytes.toString())).toHaveProperty("is_running");

    const head = await wire(`${server.url}/static/htmx.min.js`, "gzip, br", { method: "HEAD" });
    expect(head.res.status).toBe(200);
    expect(head.res.headers.get("content-encoding")).toBeNull();

    const deleted = await wire(`${server.url}/api/games/rg-1`, "gzip, br", { method: "DELETE" });
    expect(deleted.res.status).toBe(204);
    expect(deleted.res.headers.get("content-encoding")).toBeNull();
    expect(deleted.bytes.byteLength).toBe(0);

    // A plain GET of a socket's path is a 426 JSON answer; an upgrade asking for gzip still opens.
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws`, { headers: { "accept-encoding": "gzip, br" } } as never);
    const first = await new Promise<string>((resolve, reject) => {
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("the socket did not open"));
    });
    expect(JSON.parse(first).type).toBe("welcome");
    ws.close();
  });
});

describe("with --auth on", () => {
  test("a signed-in browser's page (it holds the CSRF token) goes plain; a token's page, and the session's JSON and assets, compress", async () => {
    const db = await freshDatabase("pglite");
    const server = await startAuthServer({ database: db });
    try {
      const session = await makeSession(server, "operator");
      const token = await makeToken(server, "viewer");
      const page = await wire(`${server.url}/grid-search/new`, "gzip, br", { headers: { cookie: session.cookie } });
      expect(page.res.status).toBe(200);
      expect(page.bytes.toString()).toContain(session.csrf);
      expect(page.res.headers.get("content-encoding")).toBeNull();
      const asBearer = await wire(`${server.url}/grid-search/new`, "gzip, br", { headers: { authorization: token.bearer } });
      expect(asBearer.res.headers.get("content-encoding")).toBe("br");
      const asset = await wire(`${server.url}/static/htmx.min.js`, "gzip", { headers: { cookie: session.cookie } });
      expect(asset.res.headers.get("content-encoding")).toBe("gzip");
    } finally {
      await stopTestServer(server);
      await db.close();
    }
  });
});

describe("compressResponse", () => {
  const big = "x".repeat(4096) + "0123456789".repeat(500);
  const request = (ae = "gzip, br", init: RequestInit = {}) => new Request("http://h/p", { ...init, headers: { "accept-encoding": ae, ...(init.headers as object) } });
  const text = (body: BodyInit | null, init: ResponseInit = {}) => new Response(body, { ...init, headers: { "content-type": "text/plain", ...(init.headers as object) } });

  test("an already encoded body, a 304, an uncompressible type and no-transform pass unchanged", async () => {
    for (const r of [
      text(big, { headers: { "content-encoding": "gzip" } }),
      text(null, { status: 304 }),
      new Response(big, { headers: { "content-type": "image/png" } }),
      new Response(big),
      text(big, { headers: { "cache-control": "no-transform" } }),
      text(big, { headers: { "content-type": "text/event-stream" } }),
    ]) {
      const out = await compressResponse(request(), r);
      expect(out).toBe(r);
    }
  });

  test("a body holding a secret (a signed-in page's CSRF token) goes plain", async () => {
    const out = await compressResponse(request(), text(big), COMPRESSION, true);
    expect(out.headers.get("content-encoding")).toBeNull();
    expect(await out.text()).toBe(big);
  });

  test("Vary keeps what was there and is not doubled; a strong ETag turns weak", async () => {
    const once = await compressResponse(request(), text(big, { headers: { vary: "Origin", etag: '"abc"' } }));
    expect(once.headers.get("vary")).toBe("Origin, Accept-Encoding");
    expect(once.headers.get("etag")).toBe('W/"abc"');
    const twice = await compressResponse(request(), once);
    expect(twice.headers.get("vary")).toBe("Origin, Accept-Encoding");
    expect(brotliDecompressSync(Buffer.from(await twice.arrayBuffer())).toString()).toBe(big);
  });

  test("a stream is compressed as it is read: the first bytes come out long before the source ends, and a client gone cancels it", async () => {
    let pulled = 0;
    let cancelled = false;
    const chunks = 10_000; // 640 MB if it were read whole
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        const line = `${pulled},${Math.sin(pulled)}\n`;
        controller.enqueue(new TextEncoder().encode(line.repeat(Math.ceil(65_536 / line.length))));
        if (pulled === chunks) controller.close();
      },
      cancel() {
        cancelled = true;
      },
    });
    const out = await compressResponse(request("gzip"), new Response(source, { headers: { "content-type": "text/csv" } }));
    expect(out.headers.get("content-encoding")).toBe("gzip");
    const reader = out.body!.getReader();
    const { value } = await reader.read();
    expect(value!.byteLength).toBeGreaterThan(0);
    expect(pulled).toBeLessThan(chunks / 10);
    await reader.cancel("client gone");
    await eventually(() => cancelled, { timeoutMs: 5000, intervalMs: 5, what: "the source to be cancelled" });
  });
});

describe("the app's error path", () => {
  const app = createApp({ version: `v-${"long-version-".repeat(100)}`, logger: silentLogger })
    .get("/api/boom", () => {
      throw invalid(`games: ${"unknown id ".repeat(300)}`);
    });
  const get = (path: string, init: RequestInit = {}) => app.handle(new Request(`http://localhost${path}`, { ...init, headers: { "accept-encoding": "br", ...(init.headers as object) } }));

  test("a route's error answer is compressed, with its status and the security headers", async () => {
    const res = await get("/api/boom");
    expect(res.status).toBe(422);
    expect(res.headers.get("content-encoding")).toBe("br");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(JSON.parse(brotliDecompressSync(Buffer.from(await res.arrayBuffer())).toString()).detail).toStartWith("games: unknown id");
  });

  test("an unmatched path's 404 page is compressed too", async () => {
    const res = await get("/no/such/page");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-encoding")).toBe("br");
    expect(brotliDecompressSync(Buffer.from(await res.arrayBuffer())).toString()).toContain("long-version-");
  });
});
