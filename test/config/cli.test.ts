// The command line as a person meets it: real processes, exit codes and the one-line messages.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json";

const MAIN = join(import.meta.dir, "../../src/main.ts");

function run(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], {
    env: { ...process.env, DATABASE_URL: "", ...env },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 20_000,
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

describe("gridcast command line", () => {
  test("--version prints the package version", () => {
    const r = run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(`gridcast ${pkg.version}`);
  });

  test("--help lists the commands and every setting with its variable", () => {
    const r = run(["--help"]);
    expect(r.code).toBe(0);
    for (const s of ["gridcast serve", "--port", "GRIDCAST_PORT", "--data-dir", "GRIDCAST_DATA_DIR", "DATABASE_URL", "--workers", "--log-format"]) {
      expect(r.out).toContain(s);
    }
  });

  test("a bad port stops with exit code 2 and one line naming the setting", () => {
    const r = run(["serve", "--port", "abc"]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toContain("--port");
    const e = run(["serve"], { GRIDCAST_PORT: "abc" });
    expect(e.code).toBe(2);
    expect(e.err).toContain("GRIDCAST_PORT");
  });

  test("an unwritable data dir stops with exit code 2", () => {
    const file = join(mkdtempSync(join(tmpdir(), "gridcast-cli-")), "file");
    writeFileSync(file, "x");
    const r = run(["serve", "--data-dir", join(file, "db")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--data-dir");
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });

  test("a DATABASE_URL that does not answer stops with exit code 2 naming DATABASE_URL", () => {
    const dir = mkdtempSync(join(tmpdir(), "gridcast-cli-"));
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const r = run(["serve", "--port", "0", "--data-dir", dir], { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" });
    expect(r.code).toBe(2);
    expect(r.err).toContain("DATABASE_URL does not answer");
  });

  test("an unknown command or option is refused with exit code 2", () => {
    expect(run(["frobnicate"]).code).toBe(2);
    const r = run(["serve", "--bogus", "1"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown option --bogus");
  });
});
