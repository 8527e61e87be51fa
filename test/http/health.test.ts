import { afterEach, expect, test } from "bun:test";
import { DatabaseUnavailable, type Database } from "../../src/db/database";
import { DiskGuard } from "../../src/db/disk";
import { StartupError, type RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase, freshDatabase } from "../support/db";
import { startTestServer, stopTestServer } from "../support/server";

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) await stopTestServer(server);
  server = undefined;
});

test("/health answers 503 while the database is opening, then 200 once it is open", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const db = await freshDatabase("pglite");
  try {
    server = await startTestServer({ database: async () => (await gate, db), waitReady: false });
    const before = await fetch(`${server.url}/health`);
    expect(before.status).toBe(503);
    const body = await before.json();
    expect(body.status).toBe("degraded");
    expect(body.services.database).toMatchObject({ kind: "pglite", healthy: false, state: "opening" });
    // Routes that need the database say so with a 503 too, and the page still renders.
    expect((await fetch(`${server.url}/`)).status).toBe(200);

    release();
    await server.ready;
    const after = await fetch(`${server.url}/health`);
    expect(after.status).toBe(200);
    const ok = await after.json();
    expect(ok.status).toBe("ok");
    expect(ok.services.database).toMatchObject({ kind: "pglite", healthy: true, state: "open" });
    expect(ok.services.websocket).toMatchObject({ healthy: true, activeConnections: 0, totalConnectionsTracked: 0 });
    expect(ok.services.workers.healthy).toBe(true);
  } finally {
    await db.close();
  }
});

test("a database that does not answer leaves /health at 503 and ready rejects with a StartupError", async () => {
  server = await startTestServer({
    database: async () => { throw new DatabaseUnavailable("DATABASE_URL does not answer: connection refused"); },
    waitReady: false,
  });
  await expect(server.ready).rejects.toBeInstanceOf(StartupError);
  const res = await fetch(`${server.url}/health`);
  expect(res.status).toBe(503);
  expect((await res.json()).services.database).toMatchObject({ state: "failed", healthy: false });
});

forEachDatabase("/health on an open database", (db, kind) => {
  test("reports the database kind and a round-trip latency", async () => {
    server = await startTestServer({ database: db() as Database, flags: kind === "postgres" ? ["--database-url", process.env.DATABASE_URL!] : [] });
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.services.database.kind).toBe(kind);
    expect(body.services.database.latency_ms).toBeGreaterThanOrEqual(0);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

test("/health reports the data dir's free disk, and is degraded (503) while it is below the floor", async () => {
  const disk = { free: 1024 ** 3 };
  const guard = new DiskGuard("/data", 64 * 1024 ** 2, () => ({ bavail: disk.free / 4096, bsize: 4096, blocks: 2 ** 20 }));
  const db = await freshDatabase("pglite");
  try {
    server = await startTestServer({ database: { ...db, disk: guard } });
    const ok = await fetch(`${server.url}/health`);
    expect(ok.status).toBe(200);
    expect((await ok.json()).services.disk).toEqual({
      healthy: true, path: "/data", free_bytes: 1024 ** 3, total_bytes: 4 * 1024 ** 3, min_free_bytes: 64 * 1024 ** 2,
    });

    disk.free = 32 * 1024 ** 2;
    const low = await fetch(`${server.url}/health`);
    expect(low.status).toBe(503);
    const body = await low.json();
    expect(body.status).toBe("degraded");
    expect(body.services.disk).toMatchObject({ healthy: false, free_bytes: 32 * 1024 ** 2 });
    expect(body.services.database.healthy).toBe(true); // the database answers; only its disk is low
  } finally {
    await db.close();
  }
});
