// `gridcast token ...` as an administrator runs it: straight on a data dir (or DATABASE_URL), and
// through a running daemon with --server and an admin token; exit codes 0 ok, 1 refused, 2 bad arguments.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { launchDaemon, waitHealthy, type Daemon } from "../support/daemon";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const run = async (args: string[], env: Record<string, string> = {}) => {
  const p = Bun.spawn([process.execPath, MAIN, "token", ...args], {
    env: { ...process.env, DATABASE_URL: "", GRIDCAST_TOKEN: "", ...env }, stdout: "pipe", stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
};

const ID = /^tok_[a-z2-7]{12}$/;
const TOKEN = /^gct_[A-Za-z0-9_-]{43}$/;

function created(out: string): { id: string; token: string } {
  const lines = out.trimEnd().split("\n");
  expect(lines.length).toBe(2);
  expect(lines[0]).toMatch(ID);
  expect(lines[1]).toMatch(TOKEN);
  return { id: lines[0]!, token: lines[1]! };
}

describe("gridcast token", () => {
  const base = mkdtempSync(join(tmpdir(), "gridcast-token-cli-"));

  test("create, list and revoke straight on a data dir (created if missing)", async () => {
    const dir = join(base, "direct", "new");
    const a = await run(["create", "--name", "ci bot", "--role", "operator", "--tier", "pro", "--expires", "30d", "--data-dir", dir]);
    expect(a.code).toBe(0);
    const made = created(a.out);
    const list = await run(["list", "--data-dir", dir]);
    expect(list.code).toBe(0);
    expect(list.out).not.toContain(made.token);
    expect(list.out).not.toContain(made.token.slice(4));
    const row = list.out.split("\n").find((l) => l.startsWith(made.id))!;
    expect(row.split(/\s{2,}/).slice(0, 5)).toEqual([made.id, "ci bot", "operator", "pro", "active"]);
    const revoked = await run(["revoke", made.id, "--data-dir", dir]);
    expect(revoked).toMatchObject({ code: 0, out: `revoked ${made.id}\n` });
    expect((await run(["list", "--data-dir", dir])).out).toContain("revoked");
    const again = await run(["revoke", "tok_nosuchtoken3", "--data-dir", dir]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("no such token");
  });

  test("bad arguments exit 2 and store nothing", async () => {
    const dir = join(base, "bad");
    for (const args of [
      ["create", "--role", "viewer"],
      ["create", "--name", "a"],
      ["create", "--name", "a", "--role", "root"],
      ["create", "--name", "a", "--role", "viewer", "--tier", "gold"],
      ["create", "--name", "a", "--role", "viewer", "--expires", "soon"],
      ["create", "--name", "a\u001b[2J", "--role", "viewer"],
      ["create", "--name", "x".repeat(101), "--role", "viewer"],
      ["create", "--name", "a", "--role", "viewer", "extra"],
      ["revoke"],
      ["list", "--name", "a"],
      ["rotate"],
      [],
      ["list", "--token", "gct_x"],
      ["list", "--server", "ftp://x"],
      ["list", "--server", "http://127.0.0.1:1"],
    ]) {
      const r = await run([...args, "--data-dir", dir]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.out).toBe("");
    }
    expect((await run(["list", "--data-dir", dir])).out.trim()).toBe("no tokens");
  });

  if (process.env.DATABASE_URL) {
    test("straight on DATABASE_URL", async () => {
      const adminUrl = process.env.DATABASE_URL!;
      const name = `gridcast_tokcli_${process.pid}`;
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await sql.unsafe(`DROP DATABASE IF EXISTS ${name}`);
      await sql.unsafe(`CREATE DATABASE ${name}`);
      try {
        const u = new URL(adminUrl);
        u.pathname = `/${name}`;
        const env = { DATABASE_URL: u.toString() };
        const made = created((await run(["create", "--name", "pg", "--role", "viewer"], env)).out);
        expect((await run(["list"], env)).out).toContain(made.id);
        expect((await run(["revoke", made.id], env)).code).toBe(0);
      } finally {
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await sql.end();
      }
    });
  }

  describe("through a running daemon", () => {
    const dir = join(base, "served");
    let daemon: Daemon | undefined;
    afterAll(async () => {
      daemon?.proc.kill("SIGTERM");
      await daemon?.proc.exited;
    });

    test("an admin token made on the data dir manages tokens over --server; others are refused", async () => {
      const admin = created((await run(["create", "--name", "root", "--role", "admin", "--data-dir", dir])).out);
      daemon = await launchDaemon(dir, ["--auth", "on"]);
      await waitHealthy(daemon.url);

      // The daemon holds the data dir: going around it is refused, and says to use --server.
      const around = await run(["list", "--data-dir", dir]);
      expect(around.code).not.toBe(0);
      expect(around.err).toContain("--server");

      const viaServer = (args: string[], token = admin.token) => run([...args, "--server", daemon!.url, "--token", token]);
      const made = created((await viaServer(["create", "--name", "viewer bot", "--role", "viewer", "--expires", "1h"])).out);
      const list = await viaServer(["list"]);
      expect(list.code).toBe(0);
      expect(list.out).toContain(made.id);
      expect(list.out).toContain("viewer bot");
      expect(list.out).not.toContain(made.token);
      expect(list.out).not.toContain(admin.token);

      // GRIDCAST_TOKEN instead of --token.
      expect((await run(["list", "--server", daemon.url], { GRIDCAST_TOKEN: admin.token })).code).toBe(0);

      // A viewer's token may not manage tokens; a wrong one is not an identity.
      const low = await viaServer(["list"], made.token);
      expect(low.code).toBe(1);
      expect(low.err).toContain("403: requires role admin");
      const wrong = await viaServer(["list"], `gct_${"A".repeat(43)}`);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toContain("401: authentication required");

      expect((await viaServer(["revoke", made.id])).out).toBe(`revoked ${made.id}\n`);
      const gone = await viaServer(["list"], made.token);
      expect(gone.code).toBe(1);
      expect(gone.err).toContain("401");
      const missing = await viaServer(["revoke", "tok_nosuchtoken4"]);
      expect(missing.code).toBe(1);
      expect(missing.err).toContain("no such token");
      expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
    });
  });
});
