// Reloading the settings file: its format (and every way it can be wrong), where it stands among
// flags, variables and defaults, which settings a reload puts in force and which wait for a restart,
// the live ones reaching the running server without dropping a socket, and SIGHUP on a real daemon.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LIVE_KEYS, LiveConfig } from "../../src/config/live";
import { ConfigError, loadConfig, parseArgs, resolveConfig, type Config } from "../../src/config/resolve";
import { parseSettingsFile, SettingsFileError } from "../../src/config/settings-file";
import { SETTINGS } from "../../src/config/settings";
import type { RunningServer } from "../../src/server/lifecycle";
import { reloadSettings } from "../../src/server/reload";
import { helpText } from "../../src/cli/help";
import { Client, closeAll } from "../realtime/harness";
import { launchDaemon, waitHealthy, type Daemon } from "../support/daemon";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { memoryLogger, rawRequest, startAuthServer, startTestServer, stopTestServer, upgradeStatus } from "../support/server";

const tempFile = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "gridcast-reload-")), "gridcast.env");
  writeFileSync(path, text);
  return path;
};
const parse = (text: string) => Object.fromEntries([...parseSettingsFile(text, "/etc/gc.env").values].map(([k, v]) => [k, v.value]));

describe("the settings file", () => {
  test("reads KEY=VALUE lines, comments, export, both quotes, inline comments, CRLF and a BOM", () => {
    expect(parse([
      "\uFEFF# a comment", "", "   # indented comment", "GRIDCAST_PORT=3001", "export GRIDCAST_HOST = 0.0.0.0 ",
      'GRIDCAST_ALLOWED_HOSTS="a.example, b.example" # two', "GRIDCAST_LOG_LEVEL='debug'",
      'DATABASE_URL="postgres://u:p\\"#x@h/db"', "GRIDCAST_ALLOWED_ORIGINS=https://x.example # the dashboard\r",
      "GRIDCAST_WORKERS=",
    ].join("\n"))).toEqual({
      GRIDCAST_PORT: "3001", GRIDCAST_HOST: "0.0.0.0", GRIDCAST_ALLOWED_HOSTS: "a.example, b.example", GRIDCAST_LOG_LEVEL: "debug",
      DATABASE_URL: 'postgres://u:p"#x@h/db', GRIDCAST_ALLOWED_ORIGINS: "https://x.example", GRIDCAST_WORKERS: "",
    });
  });

  const bad: [string, string, RegExp][] = [
    ["a line without =", "GRIDCAST_PORT 3000", /line 1: expected KEY=VALUE/],
    ["an unknown setting", "# ok\nGRIDCAST_PROT=3000", /line 2: unknown setting GRIDCAST_PROT/],
    ["the file naming itself", "GRIDCAST_SETTINGS_FILE=/x", /line 1: GRIDCAST_SETTINGS_FILE names this file/],
    ["a setting twice", "GRIDCAST_PORT=1\nGRIDCAST_PORT=2", /line 2: GRIDCAST_PORT is set again \(first on line 1\)/],
    ["an unclosed quote", 'GRIDCAST_HOST="0.0.0.0', /line 1: the value's closing " is missing/],
    ["junk after a quoted value", "GRIDCAST_HOST='a' b", /line 1: unexpected "b" after the quoted value/],
    ["a NUL byte", "GRIDCAST_HOST=a\u0000b", /line 1: contains a control character/],
    ["a lowercase key", "gridcast_port=3", /line 1: unknown setting gridcast_port/],
  ];
  for (const [what, text, message] of bad) {
    test(`refuses ${what}, naming the file and line`, () => {
      expect(() => parseSettingsFile(text, "/etc/gc.env")).toThrow(SettingsFileError);
      expect(() => parseSettingsFile(text, "/etc/gc.env")).toThrow(message);
    });
  }

  test("a missing, oversized or invalid file stops loadConfig with a ConfigError naming it", () => {
    const args = (path: string) => parseArgs(["serve", "--settings-file", path]);
    expect(() => loadConfig(args("/nonexistent/gridcast.env"), {})).toThrow(/settings file \/nonexistent\/gridcast.env: cannot be read \(ENOENT\)/);
    expect(() => loadConfig(args(tempFile(`# ${"x".repeat(1024 * 1024)}`)), {})).toThrow(/larger than 1048576 bytes/);
    const path = tempFile("GRIDCAST_LOG_LEVEL=debug\nGRIDCAST_PORT=http\n");
    expect(() => loadConfig(args(path), {})).toThrow(ConfigError);
    expect(() => loadConfig(args(path), {})).toThrow(`invalid GRIDCAST_PORT "http" (${path} line 2): must be an integer from 0 to 65535`);
  });

  test("a flag wins over the variable, the variable over the file, the file over the default; the variable names the file too", () => {
    const path = tempFile("GRIDCAST_PORT=3001\nGRIDCAST_TICK_MS=70\nGRIDCAST_MAX_PAIRS=5\n");
    const c = loadConfig(parseArgs(["serve", "--port", "3003"]), { GRIDCAST_SETTINGS_FILE: path, GRIDCAST_PORT: "3002", GRIDCAST_TICK_MS: "80" });
    expect([c.port, c.tickMs, c.maxPairs, c.maxQueuedJobs]).toEqual([3003, 80, 5, 100]);
    expect(c.settingsFile).toBe(path);
    // An empty variable counts as unset, as it always has: the file's value stands.
    expect(loadConfig(parseArgs(["serve"]), { GRIDCAST_SETTINGS_FILE: path, GRIDCAST_TICK_MS: "" }).tickMs).toBe(70);
  });
});

describe("which settings a reload takes", () => {
  const base = () => resolveConfig(parseArgs(["serve"]), {});

  test("the table marks log level and format, limits, allowed origins and hosts and rate limits live; help and README say so", async () => {
    for (const k of ["logLevel", "logFormat", "allowedOrigins", "allowedHosts", "rateLoginPerMin", "rateJobsPerMin", "rateImportsPerMin",
      "maxConnections", "maxConnectionsPerIp", "maxPairs", "maxQueuedJobs", "maxImportGames", "maxGameTicks"] as const) {
      expect(LIVE_KEYS).toContain(k);
    }
    for (const k of ["host", "port", "dataDir", "databaseUrl", "workers", "auth", "maxImportBytes"] as const) expect(LIVE_KEYS).not.toContain(k);
    const help = helpText("test");
    const readme = await Bun.file(join(import.meta.dir, "../../README.md")).text();
    for (const s of Object.values(SETTINGS)) {
      expect(help.split("\n").find((l) => l.includes(` ${s.env} `))!.endsWith("[live]")).toBe(s.live === true);
      const row = readme.split("\n").find((l) => l.startsWith(`| \`${s.flag}\` |`))!;
      expect(row.includes("Live: a reload applies it.")).toBe(s.live === true);
    }
  });

  test("applies the live ones, names the others and keeps their old values", () => {
    const live = new LiveConfig(base());
    const before = live.current;
    const next: Config = { ...base(), logLevel: "debug", allowedOrigins: ["https://x.example"], port: 4000, workers: 1 + before.workers };
    expect(live.apply(next)).toEqual({ applied: ["logLevel", "allowedOrigins"], needRestart: ["port", "workers"] });
    expect([live.current.logLevel, live.current.allowedOrigins, live.current.port, live.current.workers])
      .toEqual(["debug", ["https://x.example"], before.port, before.workers]);
    expect(before.logLevel).toBe("info"); // a snapshot someone holds is never changed under them
    expect(live.apply(next).applied).toEqual([]);
  });

  test("reloadSettings logs what it applied and, in one line, what needs a restart; a bad file keeps everything", () => {
    const logger = memoryLogger();
    const live = new LiveConfig(base());
    const ok = reloadSettings({ liveConfig: live, logger, load: () => ({ ...base(), rateJobsPerMin: 1, tickMs: 10, historySize: 5 }) });
    expect(ok).toEqual({ ok: true, applied: ["rateJobsPerMin"], needRestart: ["tickMs", "historySize"] });
    const lines = logger.lines.map((l) => JSON.parse(l));
    expect(lines.find((l) => l.msg === "settings reloaded").applied).toEqual(["GRIDCAST_RATE_JOBS_PER_MIN"]);
    const restart = lines.filter((l) => l.msg === "settings changed that take effect only after a restart");
    expect(restart.map((l) => l.settings)).toEqual([["GRIDCAST_TICK_MS", "GRIDCAST_HISTORY_SIZE"]]);

    const bad = reloadSettings({ liveConfig: live, logger, load: () => { throw new ConfigError('invalid GRIDCAST_LOG_LEVEL "loud"'); } });
    expect(bad).toEqual({ ok: false, error: 'invalid GRIDCAST_LOG_LEVEL "loud"' });
    expect(live.current.rateJobsPerMin).toBe(1);
    expect(JSON.parse(logger.lines.at(-1)!)).toMatchObject({ level: "error", msg: "settings reload failed: the running settings are kept" });
  });
});

forEachDatabase("live settings reach the running server", (db) => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await closeAll();
    if (server) await stopTestServer(server);
    server = undefined;
  });
  const reload = (s: RunningServer, change: Partial<Config>) => s.liveConfig.apply({ ...s.liveConfig.current, ...change } as Config);

  test("allowed hosts, the pair limit and the per-address socket limit change without a restart; open sockets stay", async () => {
    server = await startTestServer({ database: db() });
    const held = await Client.connect(`${server.url.replace("http", "ws")}/ws`);
    await held.next((m) => m.type === "welcome");
    expect((await rawRequest(server.port, "/health", "GET", { host: "gridcast.example" })).status).toBe(421);
    const grid = () => fetch(`${server!.url}/api/grid-search/run`, {
      method: "POST", headers: { "content-type": "application/json" }, // 7 x 6 = 42 pairs
      body: JSON.stringify({ entry_start: 0.02, entry_stop: 0.2, entry_step: 0.03, exit_start: 0, exit_stop: 0.1, exit_step: 0.02 }),
    });
    // No games are stored: refused for that, the pair count being within the limit.
    expect((await (await grid()).json()).detail).toMatch(/^games: no games stored/);

    expect(reload(server, { allowedHosts: ["gridcast.example"], maxPairs: 10, maxConnectionsPerIp: 1 }).applied.sort()).toEqual(["allowedHosts", "maxConnectionsPerIp", "maxPairs"]);
    expect((await rawRequest(server.port, "/health", "GET", { host: "gridcast.example" })).status).toBe(200);
    const refused = await grid();
    expect(refused.status).toBe(422);
    expect((await refused.json()).detail).toMatch(/exceeds the maximum of 10$/);
    const second = Client.start(`${server.url.replace("http", "ws")}/ws`);
    expect((await second.closed).code).toBe(1013);
    expect(held.isClosed).toBe(false);
    await held.sync();
  });

  test("--metrics-public opens /metrics to a scraper and closes it again", async () => {
    server = await startAuthServer({ database: db() });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    reload(server, { metricsPublic: true });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    reload(server, { metricsPublic: false });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  });
});

describe("SIGHUP on a real daemon", () => {
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await closeAll();
    if (daemon?.proc.exitCode === null) daemon.proc.kill("SIGKILL");
    daemon = undefined;
  });
  const logs = (d: Daemon, msg: string) => d.lines.flatMap((l) => {
    try {
      const o = JSON.parse(l);
      return o.msg === msg ? [o] : [];
    } catch {
      return []; // a line Bun itself printed
    }
  });
  const job = (d: Daemon) => fetch(`${d.url}/api/simulation/run`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });

  test("puts log level, rate limit and allowed origins in force while a socket stays open, names a restart-only setting, and keeps all over a broken file", async () => {
    const file = tempFile("GRIDCAST_LOG_LEVEL=info\nGRIDCAST_RATE_JOBS_PER_MIN=1000\n");
    daemon = await launchDaemon(join(mkdtempSync(join(tmpdir(), "gridcast-reload-")), "data"), ["--settings-file", file]);
    const d = daemon;
    await waitHealthy(d.url);
    const port = Number(new URL(d.url).port);
    const ws = `${d.url.replace("http", "ws")}/ws`;
    const held = await Client.connect(ws);
    await held.next((m) => m.type === "welcome");
    expect(await upgradeStatus(port, "/ws", { origin: "https://dash.example" })).toBe(403);
    expect((await job(d)).status).not.toBe(429);
    expect((await job(d)).status).not.toBe(429);
    expect(logs(d, "websocket open")).toEqual([]); // a debug line, under info

    writeFileSync(file, "GRIDCAST_LOG_LEVEL=debug\nGRIDCAST_RATE_JOBS_PER_MIN=1\nGRIDCAST_ALLOWED_ORIGINS=https://dash.example\nGRIDCAST_HISTORY_SIZE=5\n");
    d.proc.kill("SIGHUP");
    const [reloaded] = await eventually(() => logs(d, "settings reloaded").length > 0 && logs(d, "settings reloaded"), { what: "the reload logged" });
    expect(reloaded.applied).toEqual(["GRIDCAST_LOG_LEVEL", "GRIDCAST_ALLOWED_ORIGINS", "GRIDCAST_RATE_JOBS_PER_MIN"]);
    expect(logs(d, "settings changed that take effect only after a restart").map((l) => l.settings)).toEqual([["GRIDCAST_HISTORY_SIZE"]]);

    expect(await upgradeStatus(port, "/ws", { origin: "https://dash.example" })).toBe(101);
    const fromDash = await Client.connect(ws, { origin: "https://dash.example" });
    await fromDash.next((m) => m.type === "welcome");
    await eventually(() => logs(d, "websocket open").length > 0, { what: "a debug line for the new socket" });
    expect((await job(d)).status).not.toBe(429);
    expect((await job(d)).status).toBe(429);
    expect(held.isClosed).toBe(false);
    await held.sync();

    // A broken file: refused whole, the error logged, the running settings kept, the daemon up.
    writeFileSync(file, "GRIDCAST_LOG_LEVEL=loud\nGRIDCAST_ALLOWED_ORIGINS=\n");
    d.proc.kill("SIGHUP");
    const [failed] = await eventually(() => logs(d, "settings reload failed: the running settings are kept").length > 0
      && logs(d, "settings reload failed: the running settings are kept"), { what: "the failed reload logged" });
    expect(failed.error).toBe(`invalid GRIDCAST_LOG_LEVEL "loud" (${file} line 1): must be one of debug, info, warn, error`);
    expect(await upgradeStatus(port, "/ws", { origin: "https://dash.example" })).toBe(101);
    const opened = logs(d, "websocket open").length;
    await (await Client.connect(ws)).next((m) => m.type === "welcome");
    await eventually(() => logs(d, "websocket open").length > opened, { what: "debug still logged" });
    expect((await fetch(`${d.url}/health`)).status).toBe(200);
    expect(held.isClosed).toBe(false);
    await held.sync();

    d.proc.kill("SIGTERM");
    expect(await d.proc.exited).toBe(0);
  }, 60_000);
});
