// `gridcast import` and `gridcast demo-data` as a person runs them: straight into the data dir,
// through a running daemon with --server, and refused clearly when the data dir is in use.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "../../src/db/database";
import type { RunningServer } from "../../src/server/lifecycle";
import { csv } from "../support/bodies";
import { freshDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const run = async (args: string[]) => {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { env: { ...process.env, DATABASE_URL: "" }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
};

describe("gridcast import / demo-data", () => {
  const dir = mkdtempSync(join(tmpdir(), "gridcast-cli-import-"));
  const file = join(dir, "games.csv");
  writeFileSync(file, csv([["c1", 1, 0.5, 0.6, 1], ["c1", 2, 0.55, 0.6, 1], ["c2", 1, 0.3, 0.2, 0]]));
  let db: Database;
  let server: RunningServer;
  beforeAll(async () => {
    db = await freshDatabase("pglite");
    server = await startTestServer({ database: db });
  });
  afterAll(async () => {
    await stopTestServer(server);
    await db.close();
  });

  test("with auth on, --server needs an operator's token: --token or GRIDCAST_TOKEN", async () => {
    const securedDb = await freshDatabase("pglite");
    const secured = await startAuthServer({ database: securedDb });
    try {
      const refused = await run(["import", file, "--server", secured.url]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain("401: authentication required");
      const viewer = await makeToken(secured, "viewer");
      const low = await run(["demo-data", "--games", "3", "--server", secured.url, "--token", viewer.token]);
      expect(low.code).toBe(1);
      expect(low.err).toContain("403: requires role operator");
      const operator = await makeToken(secured, "operator");
      const ok = await run(["import", file, "--server", secured.url, "--token", operator.token]);
      expect(ok).toMatchObject({ code: 0, out: expect.stringContaining("imported 2 games") });
      const p = Bun.spawn([process.execPath, MAIN, "demo-data", "--games", "3", "--server", secured.url], {
        env: { ...process.env, DATABASE_URL: "", GRIDCAST_TOKEN: operator.token }, stdout: "pipe", stderr: "pipe",
      });
      expect(await p.exited).toBe(0);
    } finally {
      await stopTestServer(secured);
      await securedDb.close();
    }
  });

  test("--server sends the file through the daemon's API", async () => {
    const r = await run(["import", file, "--server", server.url]);
    expect(r.err).toBe("");
    expect(r.out.trim()).toBe(`imported 2 games, 3 ticks from ${file}`);
    expect((await (await fetch(`${server.url}/api/games`)).json()).total).toBe(2);
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, csv([["x", 1, 0.5, 9, 1]]));
    const refused = await run(["import", bad, "--server", server.url]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("422: line 2: fair 9 is outside [0, 1]");
    const nobody = await run(["import", file, "--server", "http://127.0.0.1:1"]);
    expect(nobody.code).toBe(2);
    expect(nobody.err).toContain("does not answer");
  });

  test("without --server it writes the data dir, and is refused while a daemon holds it", async () => {
    const data = join(dir, "data");
    const r = await run(["demo-data", "--games", "3", "--seed", "9", "--data-dir", data]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote 3 synthetic games, \d+ ticks \(seed 9\)/);
    const again = await run(["import", file, "--data-dir", data]);
    expect(again.code).toBe(0);
    expect(again.out).toContain("imported 2 games, 3 ticks");

    const daemon = Bun.spawn([process.execPath, MAIN, "serve", "--port", "0", "--data-dir", data], { env: { ...process.env, DATABASE_URL: "" }, stderr: "pipe" });
    try {
      await eventually(() => Bun.file(join(data, "gridcast.lock")).exists(), { intervalMs: 25, what: "the daemon to take the data dir's lock" });
      const busy = await run(["import", file, "--data-dir", data]);
      expect(busy.code).toBe(2);
      expect(busy.err).toContain("is in use by process");
      expect(busy.err).toContain("--server");
    } finally {
      daemon.kill("SIGTERM");
      await daemon.exited;
    }
  }, 60_000);

  test("a missing file, a bad file and bad flags are clear errors", async () => {
    expect((await run(["import", join(dir, "nope.csv"), "--data-dir", join(dir, "d2")])).err).toContain("no such file");
    expect((await run(["import", "--data-dir", join(dir, "d2")])).err).toContain("usage: gridcast import FILE");
    expect((await run(["demo-data", "--games", "0"])).code).toBe(2);
    const noise = join(dir, "noise.bin");
    writeFileSync(noise, new Uint8Array([0, 1, 2, 3, 255]));
    const r = await run(["import", noise, "--data-dir", join(dir, "d2")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("neither CSV nor NDJSON");
  }, 30_000);
});
