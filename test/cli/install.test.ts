// `gridcast install` / `gridcast uninstall`: the unit systemd-analyze accepts (and one it refuses),
// --dry-run printing every setting and writing nothing, a real install into a temporary prefix
// whose settings file the daemon reads, an uninstall that keeps the data, and bad flags (exit 2).
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installCommand, type System } from "../../src/cli/install";
import { systemdUnit } from "../../src/cli/systemd-unit";
import { loadConfig, parseArgs } from "../../src/config/resolve";
import { SETTINGS } from "../../src/config/settings";
import { INSTALL_BOOLEANS, INSTALL_FLAGS } from "../../src/cli/install";
import { STOP_DEADLINE_MS } from "../../src/server/signals";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const ANALYZE = "/usr/bin/systemd-analyze";

function gridcast(...argv: string[]) {
  const p = Bun.spawnSync([process.execPath, MAIN, ...argv], { env: { ...process.env, DATABASE_URL: "" }, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

/** A temp dir with an executable that stands in for the compiled binary. */
function sandbox() {
  const base = mkdtempSync(join(tmpdir(), "gridcast-install-"));
  const binary = join(base, "bin/gridcast");
  mkdirSync(join(base, "bin"));
  writeFileSync(binary, "#!/bin/sh\nexit 0\n");
  chmodSync(binary, 0o755);
  return { base, binary, prefix: join(base, "root") };
}

function verify(unitPath: string): { code: number; err: string } {
  const p = Bun.spawnSync([ANALYZE, "verify", unitPath], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, err: `${p.stdout.toString()}${p.stderr.toString()}` };
}

const haveAnalyze = existsSync(ANALYZE);
if (!haveAnalyze) console.warn(`skipping the systemd-analyze checks: ${ANALYZE} is absent (Debian's systemd package has it)`);

describe("the unit", () => {
  test.skipIf(!haveAnalyze)("passes systemd-analyze verify without a warning, and a unit whose binary is missing does not", () => {
    const { base, binary } = sandbox();
    const unit = join(base, "gridcast.service");
    writeFileSync(unit, systemdUnit({ binary, user: "gridcast", dataDir: "/var/lib/gridcast", settingsFile: "/etc/gridcast/gridcast.env", version: "test" }));
    const ok = verify(unit);
    expect(ok.err).not.toContain("gridcast.service");
    expect(ok.code).toBe(0);

    const broken = join(base, "broken", "gridcast.service");
    mkdirSync(join(base, "broken"));
    writeFileSync(broken, systemdUnit({ binary: join(base, "no/such/binary"), user: "gridcast", dataDir: "/var/lib/gridcast", settingsFile: "/etc/gridcast/gridcast.env", version: "test" }));
    const bad = verify(broken);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("is not executable");
  });

  test("restarts on failure, reloads with SIGHUP, stops after the daemon's own deadline, and is hardened but lets Bun's JIT run", () => {
    const text = systemdUnit({ binary: "/usr/local/bin/gridcast", user: "gc", dataDir: "/srv/gc", settingsFile: "/etc/gridcast/gridcast.env", version: "test" });
    const keys = new Map(text.split("\n").filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(keys.get("ExecStart")).toBe("/usr/local/bin/gridcast serve --data-dir /srv/gc --settings-file /etc/gridcast/gridcast.env");
    expect(keys.get("User")).toBe("gc");
    expect(keys.get("Restart")).toBe("on-failure");
    expect(keys.get("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(keys.get("KillSignal")).toBe("SIGTERM");
    // systemd must not kill before the daemon's graceful stop has had its whole deadline.
    expect(Number(keys.get("TimeoutStopSec")!.replace(/s$/, "")) * 1000).toBeGreaterThan(STOP_DEADLINE_MS);
    expect(keys.get("StandardError")).toBe("journal");
    for (const [k, v] of [["NoNewPrivileges", "yes"], ["ProtectSystem", "strict"], ["ReadWritePaths", "/srv/gc"], ["PrivateTmp", "yes"], ["ProtectHome", "yes"]]) {
      expect(keys.get(k!)).toBe(v!);
    }
    expect(keys.has("MemoryDenyWriteExecute")).toBe(false);
    expect(keys.has("EnvironmentFile")).toBe(false); // systemd would not re-read it on reload
  });
});

describe("gridcast install --dry-run", () => {
  test("prints the unit and a settings file naming every setting, and writes nothing", () => {
    const { prefix, binary } = sandbox();
    const r = gridcast("install", "--dry-run", "--prefix", prefix, "--binary", binary, "--user", "gcuser", "--data-dir", "/srv/gcdata");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("nothing is written, created or run");
    expect(r.out).toContain(`would write ${prefix}/etc/systemd/system/gridcast.service`);
    expect(r.out).toContain(`ExecStart=${binary} serve --data-dir /srv/gcdata --settings-file /etc/gridcast/gridcast.env`);
    expect(r.out).toContain("User=gcuser");
    expect(r.out).toContain(`would write ${prefix}/etc/gridcast/gridcast.env (0640)`);
    expect(r.out).toContain(`would create data dir ${prefix}/srv/gcdata (0700)`);
    expect(r.out).toContain("user gcuser: not created");
    for (const s of Object.values(SETTINGS)) expect(r.out).toContain(`#${s.env}=`);
    expect(existsSync(prefix)).toBe(false);
  });

  test("on / it says it would make the user, or keep one that exists, and still changes nothing", () => {
    const { binary } = sandbox();
    const ran: string[][] = [];
    const fake = (exists: boolean): System => ({
      userExists: () => exists, ids: () => ({ uid: 999, gid: 999 }), isRoot: () => false, systemdRunning: () => true,
      run: (cmd) => void ran.push(cmd),
    });
    const lines = (sys: System) => {
      const out: string[] = [];
      installCommand("install", parseArgs(["install", "--dry-run", "--binary", binary], INSTALL_FLAGS, INSTALL_BOOLEANS), "test", (l) => out.push(l), sys);
      return out.filter((l) => !l.startsWith("    "));
    };
    const fresh = lines(fake(false));
    expect(fresh).toContain("would create user gridcast: useradd --system --user-group --no-create-home --home-dir /var/lib/gridcast --shell /usr/sbin/nologin gridcast");
    expect(fresh).toContain("would write /etc/gridcast/gridcast.env (0640, root:gridcast):");
    expect(fresh).toContain("would run systemctl daemon-reload");
    expect(lines(fake(true))).toContain("user gridcast exists: kept");
    expect(ran).toEqual([]);
  });

  test("a real install on / needs root: refused with exit 1 before anything is done", () => {
    const { binary } = sandbox();
    const sys: System = { userExists: () => false, ids: () => ({ uid: 1, gid: 1 }), isRoot: () => false, systemdRunning: () => false, run: () => { throw new Error("must not run"); } };
    expect(() => installCommand("install", parseArgs(["install", "--binary", binary], INSTALL_FLAGS, INSTALL_BOOLEANS), "test", () => {}, sys)).toThrow(/needs root/);
  });
});

describe("gridcast install and uninstall into a prefix", () => {
  test("writes the unit, the settings file and the data dir; the daemon reads that file; uninstall removes both files and keeps the data", () => {
    const { prefix, binary } = sandbox();
    const r = gridcast("install", "--prefix", prefix, "--binary", binary);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const unit = join(prefix, "etc/systemd/system/gridcast.service");
    const env = join(prefix, "etc/gridcast/gridcast.env");
    const data = join(prefix, "var/lib/gridcast");
    expect(statSync(unit).mode & 0o777).toBe(0o644);
    expect(statSync(env).mode & 0o777).toBe(0o640);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(join(prefix, "var/lib")).mode & 0o777).toBe(0o755); // the service must get through the parents
    if (haveAnalyze) expect(verify(unit).code).toBe(0);

    // The file, as written, is one the resolver takes: all defaults while every line is commented...
    const text = readFileSync(env, "utf8");
    for (const s of Object.values(SETTINGS)) expect(text).toContain(`#${s.env}=`);
    const fromFile = loadConfig(parseArgs(["serve", "--settings-file", env]), {});
    const defaults = loadConfig(parseArgs(["serve"]), {});
    expect({ ...fromFile, settingsFile: undefined }).toEqual({ ...defaults, settingsFile: undefined });
    // ...and each shown default, uncommented, is a value it accepts (the unit names the file itself).
    const uncommented = text.replace(/^#([A-Z_]+=.+)$/gm, "$1").replace(/^GRIDCAST_SETTINGS_FILE=.*$/m, "");
    writeFileSync(env, uncommented);
    expect(loadConfig(parseArgs(["serve", "--settings-file", env]), {}).port).toBe(3000);

    writeFileSync(join(data, "keep-me"), "the store");
    const u = gridcast("uninstall", "--prefix", prefix);
    expect(u.err).toBe("");
    expect(u.code).toBe(0);
    expect(u.out).toContain(`kept: the data in ${data}`);
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(env)).toBe(false);
    expect(existsSync(join(prefix, "etc/gridcast"))).toBe(false);
    expect(readFileSync(join(data, "keep-me"), "utf8")).toBe("the store");
    const again = gridcast("uninstall", "--prefix", prefix);
    expect(again.code).toBe(0);
    expect(again.out).toContain("nothing to remove");
  });

  test("installing again keeps an edited settings file; uninstall leaves files gridcast did not write", () => {
    const { prefix, binary } = sandbox();
    expect(gridcast("install", "--prefix", prefix, "--binary", binary).code).toBe(0);
    const env = join(prefix, "etc/gridcast/gridcast.env");
    writeFileSync(env, `${readFileSync(env, "utf8")}\nGRIDCAST_LOG_LEVEL=debug\n`);
    const again = gridcast("install", "--prefix", prefix, "--binary", binary);
    expect(again.code).toBe(0);
    expect(again.out).toContain("exists: kept");
    expect(readFileSync(env, "utf8")).toContain("\nGRIDCAST_LOG_LEVEL=debug\n");

    const unit = join(prefix, "etc/systemd/system/gridcast.service");
    writeFileSync(unit, "[Service]\nExecStart=/bin/true\n");
    const u = gridcast("uninstall", "--prefix", prefix);
    expect(u.code).toBe(1);
    expect(u.err).toContain("not written by gridcast install: nothing removed");
    expect(existsSync(unit) && existsSync(env)).toBe(true);
    expect(gridcast("install", "--prefix", prefix, "--binary", binary).code).toBe(1); // nor overwrites it
  });
});

describe("bad flags", () => {
  const { prefix, binary, base } = sandbox();
  const cases: [string, string[], RegExp][] = [
    ["a setting of the daemon", ["install", "--port", "3"], /install takes no --port/],
    ["a user name with a space", ["install", "--user", "bad user"], /invalid --user "bad user"/],
    ["a relative prefix", ["install", "--prefix", "root"], /invalid --prefix "root": must be an absolute path/],
    ["a data dir with a space", ["install", "--data-dir", "/var/lib/grid cast"], /invalid --data-dir/],
    ["the root as data dir", ["install", "--data-dir", "/"], /invalid --data-dir "\/"/],
    ["a binary that is not there", ["install", "--binary", join(base, "nothing")], /no executable file there/],
    ["a % in the binary's path (a systemd specifier)", ["install", "--binary", "/opt/100%/gridcast"], /invalid --binary/],
    ["an argument", ["install", "now"], /install takes no arguments/],
    ["a flag without its value", ["install", "--prefix"], /option --prefix needs a value/],
    ["uninstall with an install flag", ["uninstall", "--user", "gc"], /uninstall takes no --user/],
    ["an unknown flag", ["uninstall", "--force"], /unknown option --force/],
  ];
  for (const [what, argv, message] of cases) {
    test(`${what}: exit 2 with one clear line, nothing written`, () => {
      const [command, ...rest] = argv;
      const extra = [...(rest.includes("--prefix") ? [] : ["--prefix", prefix]), ...(rest.includes("--binary") || command === "uninstall" ? [] : ["--binary", binary])];
      const r = gridcast(command!, ...extra, ...rest);
      expect(r.err).toMatch(message);
      expect(r.code).toBe(2);
      expect(existsSync(prefix) ? readdirSync(prefix) : []).toEqual([]);
    });
  }

  test("from source without --binary: refused, saying how to get a binary", () => {
    const r = gridcast("install", "--dry-run", "--prefix", prefix);
    expect(r.code).toBe(2);
    expect(r.err).toContain("runs from source");
    expect(r.err).toContain("npm run build");
  });
});
