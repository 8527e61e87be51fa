// A full disk: an import is refused with 507 disk_full and a message naming the cause, nothing of
// it is stored, and the server keeps answering (and stops on SIGTERM). By injection on both
// databases (a fake statfs; a disk_full raised by the server itself), and on a real small
// filesystem where this machine lets the test mount one (PGlite once hung there for good).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/database";
import { asDiskFull, DiskGuard, type StatFs } from "../../src/db/disk";
import { migrate } from "../../src/db/migrate";
import { createPglite, pgliteDatabase } from "../../src/db/pglite";
import { games } from "../../src/db/schema";
import { DomainError } from "../../src/errors";
import { importGames, type ImportOptions } from "../../src/games/import";
import { dataVersion, gameIdsInOrder } from "../../src/games/repository";
import type { RunningServer } from "../../src/server/lifecycle";
import { csv } from "../support/bodies";
import { launchDaemon, waitHealthy, type Daemon } from "../support/daemon";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { startTestServer, stopTestServer } from "../support/server";

const MiB = 1024 ** 2;
const FLOOR = 64 * MiB;
const limits = { maxBytes: 1e9, maxGames: 1e5, maxTicksPerGame: 1e6 };
const opts = (o: Partial<ImportOptions> = {}): ImportOptions => ({ format: "csv", limits, ...o });
async function* chunks(text: string) {
  yield new TextEncoder().encode(text);
}

/** A disk whose free space the test sets. */
function fakeDisk(free: number) {
  const disk = { free };
  const statfs: StatFs = () => ({ bavail: Math.floor(disk.free / 4096), bsize: 4096, blocks: 1e6 });
  return Object.assign(disk, { guard: new DiskGuard("/data", FLOOR, statfs) });
}

const fileOf = (ids: string[], ticks = 3) => csv(ids.flatMap((id) => Array.from({ length: ticks }, (_, t) => [id, t, 0.5, 0.5, 1])));

forEachDatabase("a full disk, injected", (db, kind) => {
  test("an import that would not fit above the floor is refused with disk_full, and nothing is written", async () => {
    await importGames(db(), chunks(fileOf(["keep"])), opts());
    const version = await dataVersion(db());
    const disk = fakeDisk(FLOOR + MiB);
    const guarded: Database = { ...db(), disk: disk.guard };
    const file = fileOf(["new-1", "new-2"], 10_000); // about 1.2 MiB with its WAL

    const err = await importGames(guarded, chunks(file), opts()).catch((e) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err.code).toBe("disk_full");
    expect(err.message).toBe("not enough disk space: storing 2 games (20000 ticks) needs about 1.2 MiB, 65.0 MiB free on /data, " +
      "and gridcast keeps 64.0 MiB free (--min-free-disk-bytes); free some space and retry");
    expect((await gameIdsInOrder(db())).ids).toEqual(["keep"]);
    expect(await dataVersion(db())).toBe(version);

    disk.free = 1024 * MiB; // space freed: the same file goes in
    expect(await importGames(guarded, chunks(file), opts())).toEqual({ games: 2, ticks: 20_000 });
  });

  test("rows past the memory budget are not spilled onto a disk below the floor", async () => {
    const disk = fakeDisk(FLOOR + 10);
    const err = await importGames({ ...db(), disk: disk.guard }, chunks(fileOf(["a", "b", "c"], 4)), opts({ memoryTicks: 4 })).catch((e) => e);
    expect(err.code).toBe("disk_full");
    expect(err.message).toContain("the import's temporary file");
    expect((await gameIdsInOrder(db())).ids).toEqual([]);
  });

  test(`a disk_full error from ${kind} mid-import is 507 with the cause, rolled back, and the server keeps serving`, async () => {
    // The database itself raises PostgreSQL's disk_full (53100) on the second game's ticks, after
    // the first game's rows went in inside the same transaction.
    await db().rows(sql.raw(`
      create function gridcast_test_disk_full() returns trigger language plpgsql as $$ begin
        raise exception 'could not extend file "base/5/16390": No space left on device' using errcode = 'disk_full';
      end $$`));
    await db().rows(sql.raw(`
      create trigger gridcast_test_disk_full before insert on game_ticks for each row
        when (new.game_id like 'full-%') execute function gridcast_test_disk_full()`));
    await importGames(db(), chunks(fileOf(["keep"])), opts());
    const server: RunningServer = await startTestServer({ database: db(), flags: kind === "postgres" ? ["--database-url", process.env.DATABASE_URL!] : [] });
    try {
      const post = (body: string) => fetch(`${server.url}/api/games/import`, { method: "POST", body, headers: { "content-type": "text/csv" } });
      const res = await post(fileOf(["a-ok", "full-1"]));
      expect(res.status).toBe(507);
      expect((await res.json()).detail).toMatch(/^no space left on device: storing the import failed \(could not extend file "base\/5\/16390": No space left on device\); nothing was stored$/);
      expect((await gameIdsInOrder(db())).ids).toEqual(["keep"]);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);

      await db().rows(sql.raw("drop trigger gridcast_test_disk_full on game_ticks"));
      expect((await post(fileOf(["a-ok", "full-1"]))).status).toBe(200);
      expect((await gameIdsInOrder(db())).ids.sort()).toEqual(["a-ok", "full-1", "keep"]);
    } finally {
      await stopTestServer(server);
    }
  });
});

describe("the PGlite adapter below the floor", () => {
  const disk = fakeDisk(1024 * MiB);
  let database: Database;
  beforeAll(async () => {
    database = pgliteDatabase(await createPglite(undefined), disk.guard);
    await migrate(database.db);
  });
  afterAll(() => database.close());
  afterEach(() => { disk.free = 1024 * MiB; });

  test("refuses every row write with disk_full under half the floor (jobs and deletes too, not only imports) and still reads", async () => {
    disk.free = FLOOR / 2 - 1;
    const row = { id: "g", firstT: 0, tickCount: 1, outcome: 1, synthetic: false, importedAt: new Date() };
    // drizzle wraps the refusal; asDiskFull is how callers (the import) find it.
    const refusal = async (write: Promise<unknown>) => asDiskFull(await write.then(() => undefined, (e) => e), "a test write");
    expect(await refusal(database.db.insert(games).values(row))).toMatchObject({ code: "disk_full", message: expect.stringContaining("a write to the database") });
    expect(await refusal(database.db.transaction(async (tx) => { await tx.delete(games); }))).toMatchObject({ code: "disk_full" });
    expect(await database.rows(sql`select count(*)::int as n from games`)).toEqual([{ n: 0 }]);

    disk.free = FLOOR / 2 + MiB; // below the import floor, but a small write still goes in
    await database.db.insert(games).values(row);
    expect(await database.rows(sql`select count(*)::int as n from games`)).toEqual([{ n: 1 }]);
  });
});

// A real filesystem: tmpfs sized so PGlite's data dir (~39 MB) plus the default 64 MiB floor leave
// about 25 MiB for imports. Mounting needs root (or the capability); probe once, mount per run.
function mountTmpfs(path: string): string | undefined {
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=128m", "tmpfs", path], { encoding: "utf8" });
  return r.error?.message ?? (r.status !== 0 ? (r.stderr || `mount exited ${r.status}`).trim() : undefined);
}
const probe = mkdtempSync(join(tmpdir(), "gridcast-mount-probe-"));
const mountSkip = mountTmpfs(probe);
if (!mountSkip) spawnSync("umount", [probe]);
rmSync(probe, { recursive: true, force: true });
if (mountSkip) console.log(`skipping the real small-filesystem test: cannot mount a tmpfs here (${mountSkip}); the injected tests above cover the logic`);

describe.skipIf(!!mountSkip)("a real small filesystem under the data dir [pglite]", () => {
  let mountPoint = "";
  let daemon: Daemon | undefined;
  const unmount = () => {
    spawnSync("umount", [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  };
  beforeAll(() => {
    mountPoint = mkdtempSync(join(tmpdir(), "gridcast-small-disk-"));
    const failed = mountTmpfs(mountPoint);
    if (failed) throw new Error(`mount failed after the probe passed: ${failed}`);
    process.once("exit", unmount); // a run cut short still leaves no mount behind
  });
  afterAll(async () => {
    if (daemon && daemon.proc.exitCode === null) daemon.proc.kill(9);
    await daemon?.proc.exited;
    unmount();
  });

  test("imports are refused with 507 before the disk fills, /health says why, the server stops on SIGTERM", async () => {
    daemon = await launchDaemon(join(mountPoint, "data"));
    await waitHealthy(daemon.url, 90_000);
    const url = daemon.url;
    // A hang (what PGlite did on ENOSPC) fails the test instead of stalling it.
    const post = (body: string) => fetch(`${url}/api/games/import`, { method: "POST", body, headers: { "content-type": "text/csv" }, signal: AbortSignal.timeout(20_000) });
    const health = async () => (await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) })).json();

    expect((await post(fileOf(["small-1", "small-2"]))).status).toBe(200);
    const before = await health();
    expect(before.services.disk).toMatchObject({ healthy: true, path: join(mountPoint, "data"), min_free_bytes: FLOOR });

    // 600,000 ticks need about 37 MiB with their WAL: more than is left above the floor.
    const big = await post(fileOf(["big-1", "big-2", "big-3", "big-4"], 150_000));
    expect(big.status).toBe(507);
    expect((await big.json()).detail).toMatch(/^not enough disk space: storing 4 games \(600000 ticks\) needs about 36\.6 MiB/);

    // Something else fills the disk below the floor: /health is degraded and says so.
    const free = before.services.disk.free_bytes as number;
    writeFileSync(join(mountPoint, "filler"), new Uint8Array(free - FLOOR + 4 * MiB));
    const low = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
    expect(low.status).toBe(503);
    const lowBody = await low.json();
    expect(lowBody.services.disk.healthy).toBe(false);
    expect(lowBody.services.disk.free_bytes).toBeLessThan(FLOOR);
    expect(lowBody.services.database.healthy).toBe(true);
    const refused = await post(fileOf(["late-1"]));
    expect(refused.status).toBe(507);
    expect((await refused.json()).detail).toContain("free some space and retry");
    expect((await fetch(`${url}/static/app.css`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);

    // Space freed: the database still works, and nothing of the refused imports was kept.
    rmSync(join(mountPoint, "filler"));
    expect((await post(fileOf(["late-1"]))).status).toBe(200);
    const listed = await (await fetch(`${url}/api/games?per_page=100`)).json();
    expect(listed.games.map((g: { id: string }) => g.id).sort()).toEqual(["late-1", "small-1", "small-2"]);

    daemon.proc.kill("SIGTERM");
    await eventually(() => daemon!.proc.exitCode !== null, { timeoutMs: 10_000, what: "the daemon to stop on SIGTERM" });
    expect(daemon.proc.exitCode).toBe(0);
  }, 180_000);
});
