// Hostile and unlucky input on every route that takes an id, a number or a game list (games.ts,
// jobs.ts, job-pages.ts): NUL bytes, lone surrogates, formula starts, fractional, hex, negative
// and huge numbers, unknown ids. Each is a clear 4xx (or protocol.md's answer for unknown ids),
// nothing is stored, nothing is logged as an internal error, and the server keeps answering.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/lifecycle";
import { gameTicks, games } from "../../src/db/schema";
import { packFloat64 } from "../../src/games/packed";
import { csv, heldBody } from "../support/bodies";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { memoryLogger, rawRequest, startTestServer, stopTestServer } from "../support/server";

const GRID = { entry_start: 0.02, entry_stop: 0.1, entry_step: 0.02, exit_start: 0, exit_stop: 0.05, exit_step: 0.01 };
const SIM = { entry: 0.05, exit: 0.01 };

/** Path ids that are no job's: NUL, an encoded lone surrogate, a line separator, traversal, quotes, too long, unknown. */
const JOB_IDS = ["%00", "a%00b", "%ED%A0%80", "%E2%80%A8", "..%2F..%2Fetc", "%27%3B--", "x".repeat(300), crypto.randomUUID()];
/** Query values that are no decimal integer in range. */
const NOT_INTEGERS = ["1.5", "0x10", "-1", "0", "1e2", "Infinity", "NaN", "", "%201", "1%00", "99999999999999999999", "%EF%BC%91"];

forEachDatabase("bad input", (db) => {
  let server: RunningServer;
  let log: ReturnType<typeof memoryLogger>;
  beforeEach(async () => {
    log = memoryLogger();
    server = await startTestServer({ database: db(), logger: log });
    const res = await fetch(`${server.url}/api/games/import`, { method: "POST", body: csv([["g1", 1, 0.5, 0.6, 1], ["g1", 2, 0.55, 0.5, 1]]), headers: { "content-type": "text/csv" } });
    expect(res.status).toBe(200);
  });
  afterEach(() => stopTestServer(server));

  /** What every test promises: the server still answers, nothing was stored or failed inside. */
  async function expectUnharmed() {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const games = await (await fetch(`${server.url}/api/games`)).json();
    expect(games.games.map((g: { id: string }) => g.id)).toEqual(["g1"]);
    expect((await (await fetch(`${server.url}/api/jobs`)).json()).jobs).toEqual([]);
    expect(log.lines.filter((l) => JSON.parse(l).level === "error")).toEqual([]);
  }

  const send = (method: string, path: string, body?: string, type = "application/json") =>
    fetch(`${server.url}${path}`, { method, body, headers: body === undefined ? {} : { "content-type": type } });
  async function expectDetail(res: Response, status: number, detail: RegExp | string) {
    const what = `${res.url}: ${res.status}`;
    expect(what).toBe(`${res.url}: ${status}`);
    const body = await res.json();
    if (typeof detail === "string") expect(body.detail).toBe(detail);
    else expect(body.detail).toMatch(detail);
  }

  describe("ids in paths", () => {
    test("job routes answer protocol.md's unknown-id shapes for malformed ids, without touching the store", async () => {
      for (const id of JOB_IDS) {
        for (const path of [`/api/grid-search/progress/${id}`, `/api/grid-search/results/${id}`, `/api/simulation/results/${id}`]) {
          await expectDetail(await send("GET", path), 404, "Request ID not found");
        }
        await expectDetail(await send("POST", `/api/jobs/${id}/cancel`), 404, "Request ID not found");
        // The source system answered 200 not_found here, and its clients rely on it.
        const sim = await send("GET", `/api/simulation/progress/${id}`);
        expect(sim.status).toBe(200);
        expect(await sim.json()).toEqual({ status: "not_found", current: 0, total: 0 });
      }
      await expectUnharmed();
    });

    test("job sockets: a malformed id closes the job socket (1008), and /ws answers an error and stays open", async () => {
      const ws = server.url.replace("http", "ws");
      for (const path of ["/ws/grid-search/a%00b", "/ws/simulation/%ED%A0%80", "/pages/ws/jobs/%00"]) {
        const socket = new WebSocket(`${ws}${path}`);
        const closed = await new Promise<CloseEvent>((resolve) => (socket.onclose = resolve));
        expect(`${path}: ${closed.code} ${closed.reason}`).toBe(`${path}: 1008 malformed job id`);
      }
      const mux = new WebSocket(`${ws}/ws`);
      const seen: { type: string; message?: string; topic?: string }[] = [];
      mux.onmessage = (e) => seen.push(JSON.parse(String(e.data)));
      await new Promise((r) => (mux.onopen = r));
      mux.send(JSON.stringify({ type: "subscribe", topic: "job:a\u0000b" }));
      mux.send(JSON.stringify({ type: "subscribe", topic: "job:a\ud800b" }));
      mux.send(JSON.stringify({ type: "ping" }));
      await eventually(() => seen.some((m) => m.type === "pong"), { what: "a pong after the refused subscriptions" });
      expect(seen.filter((m) => m.type === "error").map((m) => m.message)).toEqual(['unknown topic "job:a\u0000b"', 'unknown topic "job:a\ud800b"']);
      expect(mux.readyState).toBe(WebSocket.OPEN);
      mux.close();
      await expectUnharmed();
    });

    test("job pages answer 404 for malformed and unknown ids", async () => {
      for (const id of JOB_IDS) {
        for (const [method, path] of [["GET", ""], ["GET", "/live"], ["GET", "/results"], ["GET", "/results.json"], ["GET", "/results.csv"], ["POST", "/cancel"]]) {
          const res = await send(method, `/jobs/${id}${path}`);
          expect(`${method} /jobs/${id.slice(0, 20)}${path}: ${res.status}`).toBe(`${method} /jobs/${id.slice(0, 20)}${path}: 404`);
          expect(await res.text()).toContain("No job with this id");
        }
      }
      await expectUnharmed();
    });

    test("DELETE /api/games/{id}: an id no stored game can have is a 422 naming the rule; any other unknown one a 404", async () => {
      await expectDetail(await send("DELETE", "/api/games/a%00b"), 422, 'id: game id "a\\u0000b" contains a control character (U+0000)');
      await expectDetail(await send("DELETE", "/api/games/%ED%A0%80"), 404, "Game not found"); // the client re-encodes a lone surrogate as U+FFFD
      await expectDetail(await send("DELETE", `/api/games/${"x".repeat(201)}`), 422, /^id: game id "x+\.\.\." is longer than 200 characters$/);
      for (const id of ["nope", "G1", "a%09b", "a%E2%80%A8", "%3DHYPERLINK(1)", "%20g1"]) await expectDetail(await send("DELETE", `/api/games/${id}`), 404, "Game not found");
      // Raw, so nothing on the client side re-encodes the path.
      const raw = await rawRequest(Number(new URL(server.url).port), "/api/games/a%00b", "DELETE");
      expect(raw.status).toBe(422);
      await expectUnharmed();
    });
  });

  test("a game stored before the id rule was tightened can still be named, run and deleted", async () => {
    // As an older version could have stored it: an id the import now refuses.
    await db().db.insert(games).values({ id: "=legacy", firstT: 9, tickCount: 2, outcome: 1, synthetic: false, importedAt: new Date() });
    await db().db.insert(gameTicks).values({ gameId: "=legacy", t: packFloat64(Float64Array.of(9, 10)), price: packFloat64(Float64Array.of(0.5, 0.6)), fair: packFloat64(Float64Array.of(0.6, 0.6)) });
    const run = await send("POST", "/api/simulation/run", JSON.stringify({ ...SIM, games: ["=legacy"] }));
    expect(run.status).toBe(200);
    const { request_id } = await run.json();
    await eventually(async () => (await (await send("GET", `/api/simulation/progress/${request_id}`)).json()).status === "complete", { what: "the simulation" });
    expect((await send("DELETE", "/api/games/%3Dlegacy")).status).toBe(204);
    expect((await send("DELETE", "/api/games/%3Dlegacy")).status).toBe(404);
  });

  test("job parameters and page forms: an endless chunked body is a 413 and a stalled one a 408, nothing buffered past the bound", async () => {
    // Sent chunked (no Content-Length), so only counting what arrives can stop it.
    const endless = (bytes: number) => new ReadableStream<Uint8Array>({
      start(c) {
        const chunk = new TextEncoder().encode(`{"fee":0,"pad":"${"x".repeat(64 * 1024)}`);
        for (let sent = 0; sent < bytes; sent += chunk.length) c.enqueue(chunk);
        c.close();
      },
    });
    for (const [path, type] of [["/api/grid-search/run", "application/json"], ["/grid-search", "application/x-www-form-urlencoded"], ["/grid-search/preview", "application/x-www-form-urlencoded"], ["/simulation", "application/x-www-form-urlencoded"]]) {
      const res = await fetch(`${server.url}${path}`, { method: "POST", body: endless(6 * 1024 * 1024), headers: { "content-type": type } });
      expect(`${path}: ${res.status}`).toBe(`${path}: 413`);
    }
    const quick = await startTestServer({ database: db(), flags: ["--body-timeout-ms", "300"] });
    try {
      const stalled = heldBody(JSON.stringify(GRID).slice(0, 20), "}");
      const res = await fetch(`${quick.url}/api/grid-search/run`, { method: "POST", body: stalled.stream, headers: { "content-type": "application/json" } });
      expect(res.status).toBe(408);
      expect((await res.json()).detail).toMatch(/^request body not received within 300 ms/);
      stalled.release();
      expect((await fetch(`${quick.url}/health`)).status).toBe(200);
    } finally {
      await stopTestServer(quick);
    }
    await expectUnharmed();
  });

  describe("numbers in query strings", () => {
    test("GET /api/games page and per_page, GET /api/jobs limit: decimal integers in range only", async () => {
      for (const v of NOT_INTEGERS) {
        await expectDetail(await send("GET", `/api/games?page=${v}`), 422, /^page: must be an integer from 1 to 1000000, got /);
        await expectDetail(await send("GET", `/api/games?per_page=${v}`), 422, /^per_page: must be an integer from 1 to 1000, got /);
        await expectDetail(await send("GET", `/api/jobs?limit=${v}`), 422, /^limit: must be an integer from 1 to 200, got /);
      }
      await expectDetail(await send("GET", "/api/jobs?limit=1.5"), 422, 'limit: must be an integer from 1 to 200, got "1.5"');
      await expectDetail(await send("GET", "/api/jobs?limit=201"), 422, "limit: must be an integer from 1 to 200, got 201");
      expect((await send("GET", "/api/jobs?limit=200")).status).toBe(200);
      expect((await send("GET", "/api/games?page=1&per_page=007")).status).toBe(200);
      await expectUnharmed();
    });

    test("POST /api/games/demo: games=0x10 is not 16, and no bad count or seed stores anything", async () => {
      await expectDetail(await send("POST", "/api/games/demo?games=0x10"), 422, 'games: must be an integer from 1 to 10000, got "0x10"');
      for (const v of NOT_INTEGERS) {
        await expectDetail(await send("POST", `/api/games/demo?games=${v}`), 422, /^games: must be an integer from 1 to \d+, got /);
      }
      for (const v of ["-1", "4294967296", "0x10", "1.0", ""]) {
        await expectDetail(await send("POST", `/api/games/demo?games=1&seed=${v}`), 422, /^seed: must be an integer from 0 to 4294967295, got /);
      }
      await expectUnharmed();
    });
  });

  describe("job parameters", () => {
    for (const [route, base] of [["/api/grid-search/run", GRID], ["/api/simulation/run", SIM]] as const) {
      test(`${route}: game lists with NUL, lone surrogates, unknown ids or non-strings are a 422 naming games`, async () => {
        const lists: [unknown, string | RegExp][] = [
          [["a\u0000b"], 'games: game id "a\\u0000b" contains a control character (U+0000)'],
          [["g1", "a\ud800b"], 'games: game id "a\\ud800b" contains a lone surrogate (U+D800), which is not valid Unicode text'],
          [["=cmd|' /C calc'!A0"], /^games: unknown game id "=cmd.*"$/],
          ["g1,a\u0000b", 'games: game id "a\\u0000b" contains a control character (U+0000)'],
          [[5], "games: must be a list of game ids (strings)"],
          [["g1", null], "games: must be a list of game ids (strings)"],
          [[], "games: must name at least one game id (leave it out for all games)"],
          [{ id: "g1" }, "games: must be a list of game ids (strings)"],
          [[`${"x".repeat(201)}`], /^games: game id "x+\.\.\." is longer than 200 characters$/],
          [["nope"], 'games: unknown game id "nope"'],
        ];
        for (const [games, detail] of lists) await expectDetail(await send("POST", route, JSON.stringify({ ...base, games })), 422, detail);
        await expectDetail(await send("POST", `${route}?${new URLSearchParams({ ...base, games: "a\u0000b" } as never)}`), 422, /^games: game id "a\\u0000b"/);
        await expectUnharmed();
      });

      test(`${route}: fees and numbers outside their range, or not decimal, are a 422 naming the field`, async () => {
        const fees: [unknown, string][] = [
          [1e308, "fee: must be <= 1 (prices are in [0, 1])"],
          ["1e308", "fee: must be <= 1 (prices are in [0, 1])"],
          [1.5, "fee: must be <= 1 (prices are in [0, 1])"],
          [-0.01, "fee: must be >= 0"],
          ["0x1", 'fee: must be a number, got "0x1"'],
          ["Infinity", 'fee: must be a number, got "Infinity"'],
          ["", 'fee: must be a number, got ""'],
          ["0.1\u0000", 'fee: must be a number, got "0.1\\u0000"'],
          [[0.1], "fee: must be a number, got [0.1]"],
        ];
        for (const [fee, detail] of fees) await expectDetail(await send("POST", route, JSON.stringify({ ...base, fee })), 422, detail);
        // A JSON literal too large for a double is Infinity once parsed.
        await expectDetail(await send("POST", route, JSON.stringify(base).replace("}", ',"fee":1e999}')), 422, "fee: must be a finite number, got Infinity");
        const field = route.includes("grid") ? "entry_start" : "entry";
        await expectDetail(await send("POST", `${route}?${new URLSearchParams({ ...base, [field]: "0x1" } as never)}`), 422, `${field}: must be a number, got "0x1"`);
        await expectUnharmed();
      });
    }

    test("POST /simulation (the page form): a fee of 1e308 is refused, no job is made", async () => {
      const res = await send("POST", "/simulation", "entry=0.05&exit=0.01&fee=1e308", "application/x-www-form-urlencoded");
      expect(res.status).toBe(422);
      expect(await res.text()).toContain("fee: must be &lt;= 1");
      await expectUnharmed();
    });
  });

  describe("game ids in imported files", () => {
    const files: [string, string, string][] = [
      ["a lone surrogate in NDJSON", '{"game_id":"a\\ud800b","t":1,"price":0.5,"fair":0.5,"outcome":1}\n', "line 1: game_id \"a\\ud800b\" contains a lone surrogate (U+D800), which is not valid Unicode text"],
      ["a NUL escape in NDJSON", '{"game_id":"g2","t":1,"price":0.5,"fair":0.5,"outcome":1}\n{"game_id":"a\\u0000","t":1,"price":0.5,"fair":0.5,"outcome":1}\n', 'line 2: game_id "a\\u0000" contains a control character (U+0000)'],
      ["a formula id in NDJSON", '{"game_id":"@SUM(1+1)","t":1,"price":0.5,"fair":0.5,"outcome":1}\n', 'line 1: game_id "@SUM(1+1)" starts with "@", which spreadsheets run as a formula'],
    ];
    for (const [what, body, detail] of files) {
      test(`${what} is a 422 naming the line, through /api/games/import and /api/update`, async () => {
        for (const path of ["/api/games/import", "/api/update"]) await expectDetail(await send("POST", path, body, "application/x-ndjson"), 422, detail);
        const tab = csv([["g2", 1, 0.5, 0.5, 1], ['"+a\tb"', 1, 0.5, 0.5, 1]]);
        await expectDetail(await send("POST", "/api/games/import", tab, "text/csv"), 422, 'line 3: game_id "+a\\tb" contains a control character (U+0009)');
        await expectUnharmed();
      });
    }
  });
});
