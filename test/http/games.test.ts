// The games API as clients use it, on both databases: every door of the import, the update status
// (HTTP and WebSocket), listing, export, delete, and bad input that leaves the store unchanged.
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/lifecycle";
import { csv, heldBody } from "../support/bodies";
import { forEachDatabase } from "../support/db";
import { startTestServer, stopTestServer } from "../support/server";
import { parseGames } from "../../src/games/parse";

/** Every row of a CSV games file as the importer reads it, in (game_id, t) order. */
async function rowsOf(text: string) {
  const rows: { game_id: string; t: number; price: number; fair: number; outcome: number }[] = [];
  for await (const b of parseGames([new TextEncoder().encode(text)] as never, { format: "csv" })) {
    for (let i = 0; i < b.length; i++) rows.push({ game_id: b.gameIds[i], t: b.t[i], price: b.price[i], fair: b.fair[i], outcome: b.outcome[i] });
  }
  return rows.sort((x, y) => (x.game_id < y.game_id ? -1 : x.game_id > y.game_id ? 1 : x.t - y.t));
}

const GOOD = csv([["g2", 2, 0.5, 0.6, 1], ["g1", 1, 0.4, 0.5, 0], ["g2", 1, 0.45, 0.5, 1], ["g1", 2, 0.42, 0.5, 0]]);

forEachDatabase("games API", (db) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startTestServer({ database: db(), flags: ["--max-import-bytes", "2MB", "--max-import-games", "50"] });
  });
  afterEach(() => stopTestServer(server));

  const post = (path: string, body: BodyInit | null, type?: string) =>
    fetch(`${server.url}${path}`, { method: "POST", body, headers: type ? { "content-type": type } : {}, duplex: "half" } as RequestInit);
  const list = async () => (await (await fetch(`${server.url}/api/games`)).json()) as { total: number; games: { id: string }[] };

  test("POST /api/games/import takes a CSV body, an NDJSON body and a multipart file", async () => {
    const r1 = await post("/api/games/import", GOOD, "text/csv");
    expect(r1.status).toBe(200);
    expect(await r1.json()).toEqual({ games: 2, ticks: 4 });
    const nd = '{"game_id":"n","t":1,"price":0.1,"fair":0.2,"outcome":0}\n';
    expect(await (await post("/api/games/import", nd, "application/x-ndjson")).json()).toEqual({ games: 1, ticks: 1 });
    const form = new FormData();
    form.append("note", "ignored");
    form.append("file", new Blob([csv([["m", 1, 0.3, 0.3, 1]])], { type: "text/csv" }), "m.csv");
    const r3 = await fetch(`${server.url}/api/games/import`, { method: "POST", body: form });
    expect(await r3.json()).toEqual({ games: 1, ticks: 1 });
    const all = await list();
    expect(all.total).toBe(4);
    expect(all.games.map((g) => g.id)).toEqual(["g1", "g2", "m", "n"].sort((a, b) => (a === "g1" ? -1 : 0) || a.localeCompare(b)));
  });

  test("CRLF line ends and a UTF-8 BOM are accepted", async () => {
    const res = await post("/api/games/import", `\ufeff${GOOD.replace(/\n/g, "\r\n")}`, "text/csv");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ games: 2, ticks: 4 });
  });

  const bad: [string, BodyInit, string, number, RegExp][] = [
    ["a missing column", "game_id,t,price,outcome\ng,1,0.5,1\n", "text/csv", 422, /^line 1: missing column "fair"/],
    ["a non-number", csv([["g", 1, "abc", 0.5, 1]]), "text/csv", 422, /^line 2: price is not a number/],
    ["price outside [0,1]", csv([["g", 1, 1.5, 0.5, 1]]), "text/csv", 422, /^line 2: price 1.5 is outside \[0, 1\]/],
    ["fair outside [0,1]", csv([["g", 1, 0.5, -0.1, 1]]), "text/csv", 422, /^line 2: fair -0.1 is outside/],
    ["outcome not 0/1", csv([["g", 1, 0.5, 0.5, 2]]), "text/csv", 422, /^line 2: outcome/],
    ["outcome differing in a game", csv([["g", 1, 0.5, 0.5, 1], ["g", 2, 0.5, 0.5, 0]]), "text/csv", 422, /^line 3: outcome 0 differs/],
    ["duplicate t", csv([["g", 1, 0.5, 0.5, 1], ["h", 1, 0.5, 0.5, 1], ["g", 1, 0.4, 0.5, 1]]), "text/csv", 422, /^line 4: duplicate t 1 in game "g"/],
    ["an empty body", "", "text/csv", 422, /^line 1: empty file/],
    ["binary noise", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255, 254, 10, 0, 0]), "text/csv", 422, /^line 1: /],
    ["a 3 MB single line", "x".repeat(3 * 1024 * 1024), "text/csv", 413, /^line 1: file larger than 2000000 bytes/],
    ["a wrong content type", GOOD, "image/png", 415, /unsupported content type "image\/png"/],
    ["no content type", GOOD, "", 415, /unsupported content type/],
    ["too many games", csv(Array.from({ length: 60 }, (_, i) => [`g${i}`, 1, 0.5, 0.5, 1])), "text/csv", 413, /more than 50 games/],
    ["invalid NDJSON", '{"game_id":"a","t":1,"price":0.5,"fair":0.5,"outcome":1}\n{oops\n', "application/x-ndjson", 422, /^line 2: invalid JSON/],
  ];
  for (const [what, body, type, status, detail] of bad) {
    test(`bad input is refused with ${status} and the store is unchanged: ${what}`, async () => {
      await post("/api/games/import", csv([["keep", 1, 0.5, 0.5, 1]]), "text/csv");
      const res = await post("/api/games/import", body, type || undefined);
      expect(res.status).toBe(status);
      expect((await res.json()).detail).toMatch(detail);
      const after = await list();
      expect(after.games.map((g) => g.id)).toEqual(["keep"]);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    });
  }

  test("a multipart upload without a file field is a 422", async () => {
    const form = new FormData();
    form.append("other", "x");
    const res = await fetch(`${server.url}/api/games/import`, { method: "POST", body: form });
    expect(res.status).toBe(422);
    expect((await res.json()).detail).toContain('no "file" field');
  });

  test("GET /api/games pages, export streams CSV, DELETE removes one game", async () => {
    await post("/api/games/import", csv(Array.from({ length: 7 }, (_, i) => [`g${i}`, i, 0.5, 0.5, i % 2])), "text/csv");
    const page2 = await (await fetch(`${server.url}/api/games?page=2&per_page=3`)).json();
    expect(page2).toMatchObject({ total: 7, page: 2, per_page: 3 });
    expect(page2.games.map((g: { id: string }) => g.id)).toEqual(["g3", "g4", "g5"]);
    expect(page2.games[0]).toMatchObject({ ticks: 1, outcome: 1, synthetic: false });
    for (const q of ["page=0", "per_page=5000", "page=abc", "per_page=1.5"]) {
      expect((await fetch(`${server.url}/api/games?${q}`)).status).toBe(422);
    }
    const exp = await fetch(`${server.url}/api/games/export.csv`);
    expect(exp.headers.get("content-type")).toContain("text/csv");
    const text = await exp.text();
    expect(text.split("\n")[0]).toBe("game_id,t,price,fair,outcome");
    expect(text.trim().split("\n")).toHaveLength(8);
    expect((await fetch(`${server.url}/api/games/g3`, { method: "DELETE" })).status).toBe(204);
    const gone = await fetch(`${server.url}/api/games/g3`, { method: "DELETE" });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ detail: "Game not found" });
    expect((await list()).total).toBe(6);
  });

  test("update status: idle, running with progress while an import streams, another import stored meanwhile, then idle", async () => {
    const idle = await (await fetch(`${server.url}/api/update/status`)).json();
    expect(idle).toMatchObject({ is_running: false, message: "No update running" });
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws/update/status`);
    const seen: { type: string; is_running: boolean; message: string; progress?: { current: number } }[] = [];
    ws.onmessage = (e) => seen.push(JSON.parse(String(e.data)));
    await new Promise((r) => (ws.onopen = r));
    const held = heldBody("game_id,t,price,fair,outcome\nh,1,0.5,0.5,1\n", "h,2,0.5,0.5,1\n");
    const pending = post("/api/update", held.stream, "text/csv");
    let running;
    for (let i = 0; i < 100; i++) {
      running = await (await fetch(`${server.url}/api/update/status`)).json();
      if (running.is_running) break;
      await Bun.sleep(10);
    }
    expect(running).toMatchObject({ is_running: true, message: "Update in progress" });
    expect(running.updates).toEqual([{ source: "update", phase: "reading", progress: expect.anything() }]);
    // Reading holds no lock: another import is stored while this one's client is still sending.
    const second = await post("/api/games/import", GOOD, "text/csv");
    expect(await second.json()).toEqual({ games: 2, ticks: 4 });
    await Bun.sleep(150); // longer than a broadcast tick: the running state with progress goes out
    held.release();
    expect(await (await pending).json()).toEqual({ games: 1, ticks: 2 });
    expect((await (await fetch(`${server.url}/api/update/status`)).json()).is_running).toBe(false);
    await Bun.sleep(150);
    expect(seen[0]).toMatchObject({ type: "status", is_running: false, message: "No update running" });
    expect(seen.some((m) => m.is_running && m.message === "Update in progress")).toBe(true);
    expect(seen.some((m) => m.progress && m.progress.current > 0)).toBe(true);
    expect(seen.at(-1)).toMatchObject({ is_running: false });
    expect(ws.readyState).toBe(WebSocket.OPEN); // stays open across updates
    ws.close();
    expect((await list()).games.map((g) => g.id)).toEqual(["g1", "g2", "h"]);
  });

  test("export -> import gives identical data, byte for byte, and no cell is a spreadsheet formula", async () => {
    // Awkward but valid: ids CSV must quote, formula characters inside an id, an emoji; numbers
    // whose shortest form is an exponent, a sum that is no short decimal, -0, the bounds of [0, 1].
    const ids = ['a,"b"', "x=1", "mail@host", "Spiel ü 😀", "1e5", "tail-"];
    const ticks: [string, number, number][] = [
      ["-0", 0, 1], ["1e21", 0.1 + 0.2, 5e-324], ["1e-7", 1, 0], ["-12.5", 0.123456789012345, 0.5], ["9007199254740993", 1 / 3, 2 / 3],
    ];
    const rows = ids.flatMap((id, g) => ticks.map(([t, price, fair]) => [`"${id.replaceAll('"', '""')}"`, t, price, fair, g % 2]));
    const original = csv(rows);
    expect((await post("/api/games/import", original, "text/csv")).status).toBe(200);
    const first = await (await fetch(`${server.url}/api/games/export.csv`)).text();
    expect(await (await post("/api/games/import", first, "text/csv")).json()).toEqual({ games: ids.length, ticks: ids.length * ticks.length });
    const second = await (await fetch(`${server.url}/api/games/export.csv`)).text();
    expect(second).toBe(first);
    // The export holds exactly the rows imported (bit for bit: -0 stays -0).
    expect(await rowsOf(first)).toEqual(await rowsOf(original));
    expect((await rowsOf(first)).some((r) => Object.is(r.t, -0))).toBe(true);
    // Formula starts (OWASP "CSV Injection"): =, +, -, @, tab, CR. A number may be negative.
    for (const line of first.split("\n").slice(1, -1)) {
      const fields = line.split(",");
      const id = fields.slice(0, -4).join(",");
      expect(/^"?[=+\-@\t\r]/.test(id)).toBe(false);
      for (const n of fields.slice(-4)) expect(n).toMatch(/^-?\d+(\.\d+)?(e[+-]\d+)?$/);
    }
  });

  test("an id a spreadsheet would run as a formula is refused at its line, and never exported", async () => {
    const evil = csv([["ok", 1, 0.5, 0.5, 1], ['"=HYPERLINK(""http://evil.example"",""click"")"', 1, 0.5, 0.5, 1]]);
    const res = await post("/api/games/import", evil, "text/csv");
    expect(res.status).toBe(422);
    expect((await res.json()).detail).toBe('line 3: game_id "=HYPERLINK(\\"http://evil.example\\",\\"click\\")" starts with "=", which spreadsheets run as a formula');
    expect((await list()).total).toBe(0);
    expect(await (await fetch(`${server.url}/api/games/export.csv`)).text()).toBe("game_id,t,price,fair,outcome\n");
  });

  test("POST /api/games/demo writes seeded synthetic games, the same for the same seed", async () => {
    const a = await (await post("/api/games/demo?games=5&seed=42", null)).json();
    expect(a.games).toBe(5);
    const first = await (await fetch(`${server.url}/api/games/export.csv`)).text();
    await post("/api/games/demo?games=5&seed=42", null);
    expect(await (await fetch(`${server.url}/api/games/export.csv`)).text()).toBe(first);
    const games = (await list()).games as { id: string; synthetic: boolean }[];
    expect(games.every((g) => g.id.startsWith("synthetic-") && g.synthetic)).toBe(true);
    expect((await post("/api/games/demo?games=0", null)).status).toBe(422);
  });
});
