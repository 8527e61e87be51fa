// PGlite's memory settings: the shared buffers it starts with (--pglite-shared-buffers, 8MiB
// unless set, on a new data dir and on an existing one whose postgresql.conf initdb wrote with
// 128MB), and initdb only where a data dir has none yet.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { parseArgs, resolveConfig, ConfigError } from "../../src/config/resolve";
import type { Database } from "../../src/db/database";
import { openDatabase } from "../../src/db/open";
import { needsInitdb } from "../../src/db/pglite";

const root = mkdtempSync(join(tmpdir(), "gridcast-pglite-memory-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function sharedBuffers(database: Database): Promise<string> {
  const [row] = await database.rows<{ shared_buffers: string }>(sql`show shared_buffers`);
  return row.shared_buffers;
}

test("PGlite starts with 8MB of shared buffers on a new data dir and keeps to the setting on an existing one", async () => {
  const dataDir = join(root, "data");
  let database = await openDatabase({ dataDir });
  try {
    expect(await sharedBuffers(database)).toBe("8MB");
  } finally {
    await database.close();
  }
  // initdb wrote PostgreSQL's default into the data dir; the setting wins over it at every start.
  expect(readFileSync(join(dataDir, "pglite", "postgresql.conf"), "utf8")).toMatch(/^shared_buffers = 128MB/m);
  database = await openDatabase({ dataDir, pgliteSharedBuffers: 2 * 1024 ** 2 });
  try {
    expect(await sharedBuffers(database)).toBe("2MB");
  } finally {
    await database.close();
  }
  database = await openDatabase({ dataDir });
  try {
    expect(await sharedBuffers(database)).toBe("8MB");
    await database.db.execute(sql`select 1`);
  } finally {
    await database.close();
  }
}, 60_000);

test("initdb runs only for a data dir without one (or in memory), never when a dump is loaded", () => {
  const fresh = join(root, "fresh");
  mkdirSync(fresh, { recursive: true });
  expect(needsInitdb(fresh)).toBe(true);
  expect(needsInitdb(undefined)).toBe(true);
  expect(needsInitdb(undefined, new Blob([]))).toBe(false);
  expect(needsInitdb(join(root, "data", "pglite"))).toBe(false);
});

test("--pglite-shared-buffers takes a size from 128KiB to 1GiB and names itself when wrong", () => {
  const resolve = (argv: string[], env: Record<string, string> = {}) => resolveConfig(parseArgs(argv), env);
  expect(resolve(["serve"]).pgliteSharedBuffers).toBe(8 * 1024 ** 2);
  expect(resolve(["serve", "--pglite-shared-buffers", "32MiB"]).pgliteSharedBuffers).toBe(32 * 1024 ** 2);
  expect(resolve(["serve"], { GRIDCAST_PGLITE_SHARED_BUFFERS: "128KiB" }).pgliteSharedBuffers).toBe(128 * 1024);
  for (const bad of ["64KiB", "2GiB", "lots", "-1", "8MB\u0000"]) {
    expect(() => resolve(["serve", "--pglite-shared-buffers", bad])).toThrow(ConfigError);
  }
  expect(() => resolve(["serve", "--pglite-shared-buffers", "2GiB"])).toThrow(/--pglite-shared-buffers "2GiB": must be from 128KiB to 1GiB/);
});
