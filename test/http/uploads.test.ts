// Request bodies of an import as unlucky or hostile clients send them: cut off, too slow, too
// large, far larger than Bun's default cap; and the store phase still one at a time.
import { afterEach, expect, test } from "bun:test";
import { connect } from "node:net";
import type { Database } from "../../src/db/database";
import type { RunningServer } from "../../src/server/lifecycle";
import { csv, heldBody } from "../support/bodies";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { memoryLogger, startTestServer, stopTestServer } from "../support/server";

const BOUNDARY = "----gridcast-test";
const partHead = (name = "games.csv") => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/csv\r\n\r\n`;
const CLOSE = `\r\n--${BOUNDARY}--\r\n`;

/**
 * Writes a request by hand (head, then the body chunks as given) and reads the answer. `end`
 * half-closes the socket after the last chunk, as a client that gives up sending does.
 */
function sendRaw(port: number, head: string, chunks: (string | Uint8Array)[], end = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const answer = () => {
      const i = data.indexOf("\r\n\r\n");
      const length = /content-length: *(\d+)/i.exec(data.slice(0, i));
      if (i < 0 || (length && data.length - i - 4 < Number(length[1]))) return false;
      resolve({ status: Number(data.slice(9, 12)), body: data.slice(i + 4) });
      socket.destroy();
      return true;
    };
    socket.on("connect", () => {
      socket.write(head);
      for (const c of chunks) socket.write(c);
      if (end) socket.end();
    });
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      answer();
    });
    socket.on("end", () => answer() || resolve({ status: 0, body: data }));
    socket.on("error", (err) => (data ? answer() || resolve({ status: 0, body: data }) : reject(err)));
  });
}

const requestHead = (path: string, type: string, length: number) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;

forEachDatabase("uploads", (db) => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    if (server) await stopTestServer(server);
    server = undefined;
  });
  const start = async (flags: string[] = [], database: Database = db(), logger = memoryLogger()) => {
    server = await startTestServer({ database, flags, logger });
    return { s: server, logger };
  };
  const ids = async (s: RunningServer) => ((await (await fetch(`${s.url}/api/games`)).json()).games as { id: string }[]).map((g) => g.id);
  const post = (s: RunningServer, path: string, body: BodyInit, headers: Record<string, string> = { "content-type": "text/csv" }) =>
    fetch(`${s.url}${path}`, { method: "POST", body, headers, duplex: "half" } as RequestInit);

  test("a multipart body without its closing boundary, or cut off inside the file, is a 400 and nothing is stored", async () => {
    const { s, logger } = await start();
    const file = csv([["cut", 1, 0.5, 0.5, 1], ["cut", 2, 0.5, 0.5, 1]]);
    const type = `multipart/form-data; boundary=${BOUNDARY}`;
    for (const body of [partHead() + file, partHead() + file + `\r\n--${BOUNDARY}`, partHead() + file.slice(0, 40)]) {
      const res = await post(s, "/api/games/import", body, { "content-type": type });
      expect(res.status).toBe(400);
      expect((await res.json()).detail).toMatch(/^malformed multipart request: Unexpected end of (form|file)/);
    }
    // A client that announces more than it sends and hangs up: refused as cut off, no 500 logged.
    const sent = partHead() + file;
    const socket = connect(s.port, "127.0.0.1");
    await new Promise((r) => socket.on("connect", r));
    socket.write(requestHead("/api/games/import", type, sent.length + 500) + sent);
    await eventually(async () => (await (await fetch(`${s.url}/api/update/status`)).json()).is_running, { what: "the upload being read" });
    socket.destroy();
    const after = await eventually(async () => {
      const st = await (await fetch(`${s.url}/api/update/status`)).json();
      return st.is_running ? undefined : st;
    }, { what: "the cut-off upload given up" });
    expect(after.last).toMatchObject({ ok: false, error: expect.stringMatching(/cut off|Unexpected end/) });
    expect(await ids(s)).toEqual([]);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect(logger.lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  });

  test("a body slower than --body-timeout-ms is a 408 and dropped, and other imports go through meanwhile", async () => {
    const { s } = await start(["--body-timeout-ms", "800"]);
    const slow = heldBody("game_id,t,price,fair,outcome\nslow,1,0.5,0.5,1\n", "slow,2,0.5,0.5,1\n");
    const pending = post(s, "/api/games/import", slow.stream);
    await eventually(async () => (await (await fetch(`${s.url}/api/update/status`)).json()).is_running, { what: "the slow upload being read" });
    // The slow client holds no lock: two other imports (API and page) are stored while it waits.
    const other = await post(s, "/api/games/import", csv([["other", 1, 0.5, 0.5, 1]]));
    expect(await other.json()).toEqual({ games: 1, ticks: 1 });
    const form = new FormData();
    form.append("file", new File([csv([["page", 1, 0.5, 0.5, 1]])], "page.csv", { type: "text/csv" }));
    expect((await fetch(`${s.url}/data/import`, { method: "POST", body: form, headers: { "HX-Request": "true" } })).status).toBe(200);
    const res = await pending;
    expect(res.status).toBe(408);
    expect((await res.json()).detail).toMatch(/^request body not received within 800 ms/);
    slow.release();
    expect(await ids(s)).toEqual(["other", "page"]);
    const status = await (await fetch(`${s.url}/api/update/status`)).json();
    expect(status).toMatchObject({ is_running: false, last: { ok: false, source: "api" } });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  test("a multipart body that stalls mid-file is a 408 on the page too", async () => {
    const { s } = await start(["--body-timeout-ms", "500"]);
    const slow = heldBody(partHead("stall.csv") + "game_id,t,price,fair,outcome\nstall,1,0.5,0.5,1\n", "stall,2,0.5,0.5,1\n" + CLOSE);
    const res = await post(s, "/data/import", slow.stream, { "content-type": `multipart/form-data; boundary=${BOUNDARY}`, "HX-Request": "true" });
    expect(res.status).toBe(408);
    expect(await res.text()).toContain("request body not received within 500 ms");
    slow.release();
    expect(await ids(s)).toEqual([]);
  });

  test("the store phase stays one at a time: an upload read while another stores waits for it, then is stored", async () => {
    // The first transaction (the first upload's store) is held open until released.
    const inner = db();
    let releaseStore!: () => void;
    const storeHeld = new Promise<void>((r) => (releaseStore = r));
    let transactions = 0;
    const gatedDb = new Proxy(inner.db, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop !== "transaction") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          if (transactions++ === 0) await storeHeld;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const { s } = await start([], { ...inner, db: gatedDb } as Database);
    const status = async () => (await fetch(`${s.url}/api/update/status`)).json();
    const first = post(s, "/api/games/import", csv([["first", 1, 0.5, 0.5, 1]]));
    await eventually(async () => (await status()).updates?.[0]?.phase === "storing", { what: "the first upload storing" });
    const second = post(s, "/api/games/import", csv([["second", 1, 0.5, 0.5, 1]]));
    const waiting = await eventually(async () => {
      const st = await status();
      return st.updates?.length === 2 && st.updates[1].phase === "waiting" ? st : undefined;
    }, { what: "the second upload waiting for the store" });
    expect(waiting).toMatchObject({ is_running: true, message: "Update in progress", source: "api", updates: [{ phase: "storing" }, { phase: "waiting" }] });
    expect(await ids(s)).toEqual([]);
    releaseStore();
    expect(await (await first).json()).toEqual({ games: 1, ticks: 1 });
    expect(await (await second).json()).toEqual({ games: 1, ticks: 1 });
    expect(await ids(s)).toEqual(["first", "second"]);
    expect(await status()).toMatchObject({ is_running: false, message: "No update running" });
  });

  test("a body over --max-import-bytes is a 413 with a message, announced or streamed", async () => {
    const { s } = await start(["--max-import-bytes", "1MB"]);
    const over = "game_id,t,price,fair,outcome\n" + "x".repeat(1_000_000);
    const announced = await post(s, "/api/games/import", over);
    expect(announced.status).toBe(413);
    expect(await announced.json()).toEqual({ detail: "line 1: file larger than 1000000 bytes" });
    // Five times the limit: still the message (Bun's own cap sits far above the setting).
    const far = await sendRaw(s.port, requestHead("/api/games/import", "text/csv", 5_000_000), ["game_id,t,price,fair,outcome\n"]);
    expect(far.status).toBe(413);
    expect(JSON.parse(far.body).detail).toBe("line 1: file larger than 1000000 bytes");
    const streamed = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("game_id,t,price,fair,outcome\n"));
        for (let i = 0; i < 12; i++) c.enqueue(new TextEncoder().encode(Array.from({ length: 10_000 }, (_, t) => `g,${i * 10_000 + t},0.5,0.5,1\n`).join("")));
        c.close();
      },
    });
    const chunked = await post(s, "/api/games/import", streamed);
    expect(chunked.status).toBe(413);
    expect((await chunked.json()).detail).toMatch(/file larger than 1000000 bytes/);
    const form = new FormData();
    form.append("file", new File([over], "over.csv", { type: "text/csv" }));
    const page = await fetch(`${s.url}/data/import`, { method: "POST", body: form, headers: { "HX-Request": "true" } });
    expect(page.status).toBe(413);
    expect(await page.text()).toContain("file larger than 1000000 bytes");
    expect(await ids(s)).toEqual([]);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  test("a body larger than Bun's default 128 MiB cap reaches the import when the setting allows it", async () => {
    const { s } = await start(["--max-import-bytes", "200MB"]);
    // 150 MB announced; the first line is bad, so the import answers after the first chunk and the
    // rest is never sent. Before Bun's cap was set from the setting, Bun refused it: an empty 413.
    const res = await sendRaw(s.port, requestHead("/api/games/import", "text/csv", 150_000_000), ["game_id,t,price,fair,outcome\ng,1,7,0.5,1\n"]);
    expect(res.status).toBe(422);
    expect(JSON.parse(res.body).detail).toBe("line 2: price 7 is outside [0, 1]");
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  test("a multipart file of several MB streams in under a small --max-import-bytes and is stored", async () => {
    const { s } = await start(["--max-import-bytes", "8MB"]);
    const rows = Array.from({ length: 300_000 }, (_, i) => `g${i % 100},${Math.floor(i / 100)},0.5,0.5,1`);
    const text = `game_id,t,price,fair,outcome\n${rows.join("\n")}\n`;
    expect(text.length).toBeGreaterThan(5_000_000);
    const form = new FormData();
    form.append("file", new File([text], "big.csv", { type: "text/csv" }));
    const res = await fetch(`${s.url}/api/games/import`, { method: "POST", body: form });
    expect(await res.json()).toEqual({ games: 100, ticks: 300_000 });
  });
});
