// POST /api/update without a body reads every new file of the inbox folder (never a path from
// the request), once: the same file again is not new; a bad file is reported in the status.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningServer } from "../../src/server/lifecycle";
import { csv } from "../support/bodies";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { startTestServer, stopTestServer } from "../support/server";

forEachDatabase("update from the inbox", (db) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startTestServer({ database: db() });
  });
  afterEach(() => stopTestServer(server));

  function waitIdle() {
    return eventually(async () => {
      const s = await (await fetch(`${server.url}/api/update/status`)).json();
      return !s.is_running && s;
    }, { intervalMs: 20, what: "the inbox update to finish" });
  }

  test("new inbox files are imported once, in name order, and a bad one is reported", async () => {
    const inbox = join(server.config.dataDir, "inbox");
    mkdirSync(inbox, { recursive: true });
    writeFileSync(join(inbox, "a.csv"), csv([["a", 1, 0.5, 0.5, 1]]));
    writeFileSync(join(inbox, "b.ndjson"), '{"game_id":"b","t":1,"price":0.5,"fair":0.5,"outcome":0}\n');
    writeFileSync(join(inbox, "c.csv"), csv([["c", 1, 2, 0.5, 1]])); // price 2: bad
    const res = await fetch(`${server.url}/api/update`, { method: "POST" });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ message: "Update started", files: ["a.csv", "b.ndjson", "c.csv"] });
    const done = await waitIdle();
    expect(done.last).toMatchObject({ ok: false, source: "c.csv" });
    expect(done.last.error).toContain("line 2: price 2 is outside [0, 1]");
    const games = await (await fetch(`${server.url}/api/games`)).json();
    expect(games.games.map((g: { id: string }) => g.id)).toEqual(["a", "b"]);

    // Only the failed file is "new" again; the imported ones are not read twice.
    const again = await fetch(`${server.url}/api/update`, { method: "POST" });
    expect((await again.json()).files).toEqual(["c.csv"]);
    await waitIdle();
    writeFileSync(join(inbox, "c.csv"), csv([["c", 1, 0.2, 0.5, 1]]));
    await (await fetch(`${server.url}/api/update`, { method: "POST" })).json();
    await waitIdle();
    const none = await fetch(`${server.url}/api/update`, { method: "POST" });
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({ message: "No new files in the inbox", files: [] });
    expect((await (await fetch(`${server.url}/api/games`)).json()).total).toBe(3);
  });

  test("a query or body cannot name a path: the body is the file itself", async () => {
    const res = await fetch(`${server.url}/api/update?path=/etc/passwd`, { method: "POST", body: "/etc/passwd", headers: { "content-type": "text/csv" } });
    expect(res.status).toBe(422);
    expect((await res.json()).detail).toMatch(/^line 1: /);
  });
});
