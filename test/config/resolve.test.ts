import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseArgs, prepareDataDir, resolveConfig } from "../../src/config/resolve";

const resolve = (argv: string[], env: Record<string, string> = {}) => resolveConfig(parseArgs(argv), env);

describe("config", () => {
  test("defaults: 127.0.0.1:3000, ./.gridcast, PGlite, text logs, one worker per core", () => {
    const c = resolve(["serve"]);
    expect(c.host).toBe("127.0.0.1");
    expect(c.port).toBe(3000);
    expect(c.dataDir).toBe(join(process.cwd(), ".gridcast"));
    expect(c.databaseUrl).toBeUndefined();
    expect(c.logFormat).toBe("text");
    expect(c.workers).toBeGreaterThanOrEqual(1);
  });

  test("every flag has an environment variable, and a flag wins over it", () => {
    const env = { GRIDCAST_HOST: "0.0.0.0", GRIDCAST_PORT: "4001", GRIDCAST_DATA_DIR: "/tmp/a", GRIDCAST_WORKERS: "3", DATABASE_URL: "postgres://x@h/db", GRIDCAST_LOG_FORMAT: "json" };
    const fromEnv = resolve(["serve"], env);
    expect(fromEnv).toMatchObject({ host: "0.0.0.0", port: 4001, dataDir: "/tmp/a", workers: 3, databaseUrl: "postgres://x@h/db", logFormat: "json" });
    const both = resolve(["serve", "--port", "4000", "--data-dir=/tmp/x", "--workers", "1"], env);
    expect(both).toMatchObject({ port: 4000, dataDir: "/tmp/x", workers: 1 });
  });

  test("a bad value names the setting it came from", () => {
    expect(() => resolve(["serve", "--port", "abc"])).toThrow('invalid --port "abc": must be an integer from 0 to 65535');
    expect(() => resolve(["serve"], { GRIDCAST_PORT: "70000" })).toThrow('invalid GRIDCAST_PORT "70000"');
    expect(() => resolve(["serve", "--port", "3.5"])).toThrow(ConfigError);
    expect(() => resolve(["serve", "--workers", "0"])).toThrow("invalid --workers");
    expect(() => resolve(["serve", "--log-format", "xml"])).toThrow("must be one of text, json");
    expect(() => resolve(["serve", "--host", ""])).toThrow("invalid --host");
  });

  test("unknown options and missing values are refused", () => {
    expect(() => parseArgs(["serve", "--prot", "1"])).toThrow("unknown option --prot");
    expect(() => parseArgs(["serve", "--port"])).toThrow("option --port needs a value");
  });

  test("the data dir is created when missing, and refused when it cannot be written", () => {
    const base = mkdtempSync(join(tmpdir(), "gridcast-cfg-"));
    const ok = resolve(["serve", "--data-dir", join(base, "a/b/c")]);
    prepareDataDir(ok);
    const file = join(base, "plain-file");
    writeFileSync(file, "x");
    const bad = resolve(["serve", "--data-dir", join(file, "sub")]);
    expect(() => prepareDataDir(bad)).toThrow(/invalid --data-dir .*not a writable directory/);
    const notDir = resolve(["serve", "--data-dir", file]);
    expect(() => prepareDataDir(notDir)).toThrow(ConfigError);
  });
});

test("the README's settings table names every flag and variable", async () => {
  const { SETTINGS } = await import("../../src/config/settings");
  const readme = await Bun.file(join(import.meta.dir, "../../README.md")).text();
  for (const s of Object.values(SETTINGS)) {
    expect(readme).toContain(`| \`${s.flag}\` | \`${s.env}\` |`);
  }
});
