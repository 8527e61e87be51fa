// The node registry as users meet it: real daemons as child processes on one PostgreSQL (a
// database of the test's own on the dev server), with a short heartbeat and lease; PGlite alone;
// a database migrated by a newer gridcast; bad settings.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import pkg from "../../package.json";
import { parseArgs, resolveConfig } from "../../src/config/resolve";
import { embeddedMigrations } from "../../src/db/migrations/index";
import { createPglite } from "../../src/db/pglite";
import { launchDaemon, waitHealthy, type Daemon } from "../support/daemon";
import { eventually } from "../support/eventually";
import { forEachDatabase } from "../support/db";
import { startTestServer, stopTestServer } from "../support/server";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const HEARTBEAT = 100;
const LEASE = 500;
const SHORT = ["--heartbeat-ms", String(HEARTBEAT), "--lease-ms", String(LEASE), "--workers", "1"];
const LAST = embeddedMigrations[embeddedMigrations.length - 1]!;

const dir = () => join(mkdtempSync(join(tmpdir(), "gridcast-cluster-")), "data");
type View = { nodes: { id: string; host: string; port: number; workers: number; busy: number; started_at: string; last_heartbeat: string }[]; self: string; stale: boolean; error?: string };
const cluster = async (d: Daemon): Promise<View> => (await fetch(`${d.url}/api/cluster`)).json();
const portOf = (d: Daemon) => Number(new URL(d.url).port);

/** Waits for a daemon that should refuse to start; its exit code and the line it printed. */
async function refused(d: Daemon): Promise<{ code: number; said: string }> {
  const code = await d.proc.exited;
  await d.pump;
  return { code, said: d.lines.filter((l) => l.startsWith("gridcast: ")).join("\n") };
}

const running: Daemon[] = [];
async function daemon(flags: string[], env: Record<string, string>): Promise<Daemon> {
  const d = await launchDaemon(dir(), flags, env);
  running.push(d);
  return d;
}
afterAll(() => {
  for (const d of running) if (d.proc.exitCode === null) d.proc.kill("SIGKILL");
});

const pgUrl = process.env.DATABASE_URL;
describe.skipIf(!pgUrl)("several daemons on one PostgreSQL", () => {
  const admin = pgUrl ? postgres(pgUrl, { max: 1, onnotice: () => {} }) : undefined;
  let n = 0;
  /** A database of its own for one test, and a client on it to look at the rows. */
  async function database() {
    const name = `gridcast_cluster_${process.pid}_${++n}`;
    await admin!.unsafe(`CREATE DATABASE ${name}`);
    const u = new URL(pgUrl!);
    u.pathname = `/${name}`;
    const sql = postgres(u.toString(), { max: 1, onnotice: () => {} });
    return { url: u.toString(), sql, drop: async () => { await sql.end(); await admin!.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } };
  }
  afterAll(async () => { await admin?.end(); });

  test("two daemons both appear in each other's /api/cluster and /health; a clean stop removes the row at once", async () => {
    const db = await database();
    const a = await daemon([...SHORT, "--node-id", "node-a"], { DATABASE_URL: db.url });
    await waitHealthy(a.url);
    const b = await daemon([...SHORT, "--node-id", "node-b", "--workers", "2"], { DATABASE_URL: db.url });
    await waitHealthy(b.url);
    for (const [d, self] of [[a, "node-a"], [b, "node-b"]] as const) {
      const view = await eventually(async () => { const v = await cluster(d); return v.nodes.length === 2 && v; }, { what: `${self} to list both nodes` });
      expect(view.self).toBe(self);
      expect(view.stale).toBe(false);
      expect(view.nodes.map((x) => [x.id, x.host, x.port, x.workers])).toEqual([["node-a", "127.0.0.1", portOf(a), 1], ["node-b", "127.0.0.1", portOf(b), 2]]);
      const health = await (await fetch(`${d.url}/health`)).json();
      expect(health.cluster.self).toBe(self);
      expect(health.cluster.nodes.map((x: { id: string }) => x.id).sort()).toEqual(["node-a", "node-b"]);
    }
    b.proc.kill("SIGTERM");
    expect(await b.proc.exited).toBe(0);
    expect((await db.sql`select id from nodes order by id`).map((r) => r.id)).toEqual(["node-a"]);
    expect((await cluster(a)).nodes.map((x) => x.id)).toEqual(["node-a"]);
    a.proc.kill("SIGTERM");
    expect(await a.proc.exited).toBe(0);
    expect(await db.sql`select id from nodes`).toHaveLength(0);
    await db.drop();
  }, 60_000);

  test("a second daemon with a live node's id is refused; after the first is killed and its lease has passed, it is accepted", async () => {
    const db = await database();
    const first = await daemon([...SHORT, "--node-id", "dup"], { DATABASE_URL: db.url });
    await waitHealthy(first.url);
    const twin = await refused(await daemon([...SHORT, "--node-id", "dup"], { DATABASE_URL: db.url }));
    expect(twin.code).toBe(2);
    expect(twin.said).toContain(`gridcast: node id dup is in use by the daemon at 127.0.0.1:${portOf(first)} (gridcast ${pkg.version}, last heartbeat`);
    expect(twin.said).toContain("another --node-id");
    // The refused one left the holder's row as it was.
    expect((await db.sql`select port from nodes where id = 'dup'`)[0]!.port).toBe(portOf(first));

    first.proc.kill("SIGKILL");
    await first.proc.exited;
    // Its row stays until the lease has run out (nobody removed it): wait for that, by the row's own time.
    await eventually(async () => {
      const [row] = await db.sql`select last_heartbeat from nodes where id = 'dup'`;
      return Date.now() - Number(row!.last_heartbeat) > LEASE + HEARTBEAT;
    }, { what: "the killed node's lease to pass" });
    const next = await daemon([...SHORT, "--node-id", "dup"], { DATABASE_URL: db.url });
    await waitHealthy(next.url);
    const view = await cluster(next);
    expect(view.nodes.map((x) => [x.id, x.port])).toEqual([["dup", portOf(next)]]);
    next.proc.kill("SIGTERM");
    expect(await next.proc.exited).toBe(0);
    await db.drop();
  }, 60_000);

  test("a daemon killed with SIGKILL and restarted on the same port takes its node id back at once", async () => {
    const db = await database();
    const first = await daemon([...SHORT, "--lease-ms", "60000", "--node-id", "fixed"], { DATABASE_URL: db.url });
    await waitHealthy(first.url);
    const port = String(portOf(first));
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    // A lease of a minute has not passed, but this address and port are the new daemon's now.
    const again = await daemon([...SHORT, "--lease-ms", "60000", "--node-id", "fixed", "--port", port], { DATABASE_URL: db.url });
    await waitHealthy(again.url);
    expect((await cluster(again)).nodes.map((x) => [x.id, x.port])).toEqual([["fixed", Number(port)]]);
    again.proc.kill("SIGTERM");
    expect(await again.proc.exited).toBe(0);
    await db.drop();
  }, 60_000);

  test("a database migrated by a newer gridcast is refused, naming both versions and the migrations", async () => {
    const db = await database();
    const first = await daemon([...SHORT, "--node-id", "old"], { DATABASE_URL: db.url });
    await waitHealthy(first.url);
    first.proc.kill("SIGTERM");
    await first.proc.exited;
    // What a newer gridcast would leave: a migration dated after this binary's last, and its node's row.
    await db.sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('abcdef0123456789ffff', ${LAST.when + 86_400_000})`;
    await db.sql`insert into nodes values ('newer', 'x', 'h', 1, 0, 0, 1, 0, '9.9.9')`;
    const r = await refused(await daemon(SHORT, { DATABASE_URL: db.url }));
    expect(r.code).toBe(2);
    expect(r.said).toContain("the database was migrated by a newer gridcast (gridcast 9.9.9 has run on it): it holds 1 migration this gridcast");
    expect(r.said).toContain(`gridcast ${pkg.version} does not know`);
    expect(r.said).toContain(`hash abcdef012345`);
    expect(r.said).toContain(`after this one's last, ${LAST.tag}`);
    // Nothing was changed: the newer migration is still the last one.
    expect(await db.sql`select 1 from drizzle.__drizzle_migrations where created_at > ${LAST.when + 1}`).toHaveLength(1);
    await db.drop();
  }, 60_000);
});

describe("one daemon on PGlite", () => {
  test("its cluster is itself alone, in /api/cluster and /health", async () => {
    const d = await daemon(["--workers", "2"], { DATABASE_URL: "" });
    await waitHealthy(d.url);
    const view = await cluster(d);
    expect(view.self).toBe(view.nodes[0]!.id);
    expect(view.nodes).toHaveLength(1);
    expect(view.nodes[0]).toMatchObject({ port: portOf(d), workers: 2, host: "127.0.0.1" });
    expect(view.self.endsWith(`:${portOf(d)}`)).toBe(true); // host name and port by default
    expect(view.stale).toBe(false);
    const health = await (await fetch(`${d.url}/health`)).json();
    expect(health.cluster.self).toBe(view.self);
    // No bus on PGlite: it always listens, and nothing crosses.
    expect(health.cluster.bus).toEqual({ listening: true, sent: 0, notifications: 0, received: 0, dropped: 0, rejected: 0 });
    expect(health.status).toBe("ok");
    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(0);
  }, 60_000);

  test("a second daemon on the port another one listens on is refused, naming the port, and the first keeps answering", async () => {
    const first = await daemon([], { DATABASE_URL: "" });
    await waitHealthy(first.url);
    const port = portOf(first);
    const second = Bun.spawn([process.execPath, MAIN, "serve", "--port", String(port), "--data-dir", dir()], {
      env: { ...process.env, DATABASE_URL: "" }, stdout: "ignore", stderr: "pipe",
    });
    expect(await second.exited).toBe(2);
    const said = await new Response(second.stderr as ReadableStream).text();
    expect(said).toContain(`gridcast: port ${port} on 127.0.0.1 is in use`);
    // Every request still reaches the first (with SO_REUSEPORT the kernel would share them out).
    for (let i = 0; i < 20; i++) expect((await (await fetch(`${first.url}/api/cluster`)).json()).self).toBe((await cluster(first)).self);
    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
  }, 60_000);

  test("a data dir migrated by a newer gridcast is refused", async () => {
    const data = dir();
    const first = await daemon(["--data-dir", data], { DATABASE_URL: "" });
    await waitHealthy(first.url);
    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    const pg = await createPglite(join(data, "pglite"));
    await pg.query(`insert into drizzle.__drizzle_migrations (hash, created_at) values ('0123456789abcdef', ${LAST.when + 1000})`);
    await pg.close();
    const r = await refused(await daemon(["--data-dir", data], { DATABASE_URL: "" }));
    expect(r.code).toBe(2);
    expect(r.said).toContain(`gridcast: the database was migrated by a newer gridcast: it holds 1 migration this gridcast ${pkg.version} does not know`);
    expect(r.said).toContain(LAST.tag);
  }, 60_000);
});

describe("cluster settings", () => {
  const resolve = (flags: string[], env: Record<string, string> = {}) => resolveConfig(parseArgs(["serve", ...flags]), env);
  test("defaults: no node id (host name and port at start), heartbeat 2 s, lease 10 s", () => {
    expect(resolve([])).toMatchObject({ nodeId: undefined, heartbeatMs: 2000, leaseMs: 10_000 });
    expect(resolve(["--node-id", "box-1.example:3000"], { GRIDCAST_LEASE_MS: "300", GRIDCAST_HEARTBEAT_MS: "100" })).toMatchObject({ nodeId: "box-1.example:3000", leaseMs: 300, heartbeatMs: 100 });
  });
  test.each([
    [["--lease-ms", "4000"], "invalid --lease-ms 4000 (GRIDCAST_LEASE_MS): must be more than twice --heartbeat-ms (2000)"],
    [["--heartbeat-ms", "500", "--lease-ms", "1000"], "must be more than twice --heartbeat-ms (500)"],
    [["--heartbeat-ms", "abc"], 'invalid --heartbeat-ms "abc": must be an integer'],
    [["--lease-ms", "-1"], 'invalid --lease-ms "-1"'],
    [["--node-id", "has space"], 'invalid --node-id "has space": must start with a letter or digit'],
    [["--node-id", "-x"], "must start with a letter or digit"],
    [["--node-id", "a\u0000b"], "hold only letters, digits"],
    [["--node-id", "\ud800"], "hold only letters, digits"],
    [["--node-id", "x".repeat(129)], "must be at most 128 characters"],
    [["--node-id", "<script>"], "must start with a letter or digit"],
  ])("%p is refused", (flags, message) => {
    expect(() => resolve(flags as string[])).toThrow(message);
  });
  test("a bad value stops the daemon with exit code 2 and one line", () => {
    const p = Bun.spawnSync([process.execPath, MAIN, "serve", "--port", "0", "--heartbeat-ms", "100", "--lease-ms", "200"], {
      env: { ...process.env, DATABASE_URL: "" }, stderr: "pipe", stdout: "pipe", timeout: 20_000,
    });
    expect(p.exitCode).toBe(2);
    expect(p.stderr.toString().trim()).toBe("gridcast: invalid --lease-ms 200 (GRIDCAST_LEASE_MS): must be more than twice --heartbeat-ms (100)");
  });
});

forEachDatabase("a node whose store fails", (db, kind) => {
  test("keeps running, and /health and /api/cluster say the cluster view is stale until the store answers", async () => {
    const server = await startTestServer({ database: db(), flags: [...SHORT, "--node-id", "solo", ...(kind === "postgres" ? ["--database-url", pgUrl!] : [])] });
    try {
      const before = await (await fetch(`${server.url}/api/cluster`)).json();
      expect(before).toMatchObject({ self: "solo", stale: false, nodes: [{ id: "solo" }] });
      db().breaker.injectFault("refuse");
      if (kind === "postgres") {
        const health = await eventually(async () => { const h = await (await fetch(`${server.url}/health`)).json(); return h.cluster.stale && h; }, { what: "a stale cluster in /health" });
        expect(health.status).toBe("degraded");
        expect(health.cluster).toMatchObject({ self: "solo", nodes: [{ id: "solo" }] });
        const api = await fetch(`${server.url}/api/cluster`);
        expect(api.status).toBe(200);
        expect(await api.json()).toMatchObject({ stale: true, nodes: [{ id: "solo" }] });
      } else {
        // PGlite: the node is the whole cluster, known without the store.
        const health = await (await fetch(`${server.url}/health`)).json();
        expect(health.status).toBe("degraded");
        expect(health.cluster).toMatchObject({ self: "solo", stale: false });
      }
      db().breaker.injectFault(undefined);
      await eventually(async () => !(await (await fetch(`${server.url}/api/cluster`)).json()).stale, { timeoutMs: 15_000, what: "the view to be fresh again" });
    } finally {
      db().breaker.injectFault(undefined);
      await stopTestServer(server);
    }
  }, 30_000);
});
