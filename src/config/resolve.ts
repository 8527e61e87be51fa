// Resolves flags, environment, the settings file and defaults into one typed, validated Config:
// once at start, and again on SIGHUP (src/server/reload.ts). Anything wrong stops here with a
// ConfigError naming the setting; nothing downstream re-checks.
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { SETTINGS, SettingValueError, type SettingDef, type SettingKey } from "./settings";
import { readSettingsFile, SettingsFileError, type SettingsFile } from "./settings-file";

type ValueOf<K extends SettingKey> = (typeof SETTINGS)[K] extends SettingDef<infer T> ? T : never;
export type Config = Omit<{ [K in SettingKey]: ValueOf<K> }, "auth"> & { dataDir: string; auth: "on" | "off" };

/**
 * Whether a listen address or Host name is this machine only: `localhost` (and names under it),
 * 127.0.0.0/8, ::1 and IPv4-mapped loopback. 0.0.0.0 and :: are every interface, not loopback.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255) && m[1] === "127";
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  /** Flag name (with dashes) -> raw value; boolean flags map to "true". */
  flags: Map<string, string>;
}

const BOOLEAN_FLAGS = new Set(["--help", "-h", "--version", "-v"]);

/** Splits argv into a command, positionals and `--flag value` / `--flag=value` pairs; `extraBooleans`
 *  are a command's flags that take no value (mapped to "true", like --help). */
export function parseArgs(argv: string[], extraFlags: string[] = [], extraBooleans: string[] = []): ParsedArgs {
  const known = new Set([...Object.values(SETTINGS).map((s) => s.flag), ...extraFlags]);
  const booleans = new Set([...BOOLEAN_FLAGS, ...extraBooleans]);
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    if (booleans.has(arg)) {
      flags.set(arg, "true");
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!known.has(name)) throw new ConfigError(`unknown option ${name} (see gridcast --help)`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`option ${name} needs a value`);
    flags.set(name, value);
  }
  return { command: positionals.shift(), positionals, flags };
}

type Env = Record<string, string | undefined>;

/** Flags win over environment variables, which win over the settings file, which wins over defaults. */
export function resolveConfig(args: ParsedArgs, env: Env, file?: SettingsFile): Config {
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(SETTINGS) as [SettingKey, SettingDef][]) {
    const fromFlag = args.flags.get(def.flag);
    const fromEnv = env[def.env] === "" ? undefined : env[def.env];
    const fromFile = file?.values.get(def.env);
    const raw = fromFlag ?? fromEnv ?? fromFile?.value;
    if (raw === undefined) {
      out[key] = def.default();
      continue;
    }
    try {
      out[key] = def.parse(raw);
    } catch (err) {
      if (!(err instanceof SettingValueError)) throw err;
      const source = fromFlag !== undefined ? def.flag : def.env;
      const where = fromFlag === undefined && fromEnv === undefined ? ` (${file!.path} line ${fromFile!.line})` : "";
      throw new ConfigError(`invalid ${source} ${JSON.stringify(raw)}${where}: ${err.message}`);
    }
  }
  const config = out as Config;
  // A lease must outlast two heartbeats, or one late beat would drop a live node from the cluster.
  if (config.leaseMs <= 2 * config.heartbeatMs) {
    throw new ConfigError(`invalid --lease-ms ${config.leaseMs} (GRIDCAST_LEASE_MS): must be more than twice --heartbeat-ms (${config.heartbeatMs})`);
  }
  config.dataDir = resolvePath(config.dataDir);
  // access.md "Modes": a daemon reachable from other machines never comes up open by default.
  config.auth ??= isLoopbackHost(config.host) ? "off" : "on";
  return config;
}

/**
 * The Config for a command line: the settings file it names (--settings-file, else
 * GRIDCAST_SETTINGS_FILE) read, then everything resolved. What start and every reload call.
 */
export function loadConfig(args: ParsedArgs, env: Env): Config {
  const path = args.flags.get(SETTINGS.settingsFile.flag) ?? (env[SETTINGS.settingsFile.env] || undefined);
  let file: SettingsFile | undefined;
  try {
    file = path === undefined ? undefined : readSettingsFile(path);
  } catch (err) {
    if (err instanceof SettingsFileError) throw new ConfigError(err.message);
    throw err;
  }
  const config = resolveConfig(args, env, file);
  if (file) config.settingsFile = file.path;
  return config;
}

/** Creates the data dir if missing and proves it writable, so a bad path fails at start, not at first write. */
export function prepareDataDir(config: Config): void {
  const dir = config.dataDir;
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`invalid --data-dir ${JSON.stringify(dir)} (GRIDCAST_DATA_DIR): not a writable directory (${reason})`);
  }
}
