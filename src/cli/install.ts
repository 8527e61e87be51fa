// `gridcast install` and `gridcast uninstall`: a systemd service for the binary where it stands.
// Each command is a list of steps first (what it would write, create or run), then carried out,
// so --dry-run prints the same list and changes nothing. --prefix writes under another root (a
// package build, a test): then no user is made and no file changes owner.
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError, type ParsedArgs } from "../config/resolve";
import { SETTINGS } from "../config/settings";
import { CommandFailed } from "./import";
import { settingsTemplate } from "./settings-template";
import { INSTALL_MARK, systemdUnit } from "./systemd-unit";

export const INSTALL_FLAGS = ["--prefix", "--user", "--binary"];
export const INSTALL_BOOLEANS = ["--dry-run"];

const USAGE = `usage: gridcast install [--prefix /] [--user gridcast] [--data-dir /var/lib/gridcast] [--binary PATH] [--dry-run]
       gridcast uninstall [--prefix /] [--dry-run]`;

const UNIT = "/etc/systemd/system/gridcast.service";
const SETTINGS_FILE = "/etc/gridcast/gridcast.env";
const DEFAULT_DATA_DIR = "/var/lib/gridcast";

/** What the commands ask of the machine; tests pass a fake to see the steps for a real root. */
export interface System {
  userExists(name: string): boolean;
  /** uid and gid of a user (after it exists). */
  ids(name: string): { uid: number; gid: number };
  isRoot(): boolean;
  /** Whether systemd runs this machine (so systemctl can be called). */
  systemdRunning(): boolean;
  /** Runs a command; a non-zero exit is a CommandFailed naming it. */
  run(cmd: string[]): void;
}

function runChecked(cmd: string[]): { ok: boolean; out: string } {
  try {
    const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
    return { ok: p.exitCode === 0, out: `${p.stdout.toString()}${p.stderr.toString()}`.trim() };
  } catch (err) {
    return { ok: false, out: (err as Error).message }; // the program itself is missing
  }
}

export const realSystem: System = {
  userExists: (name) => runChecked(["id", "-u", name]).ok,
  ids: (name) => ({ uid: Number(runChecked(["id", "-u", name]).out), gid: Number(runChecked(["id", "-g", name]).out) }),
  isRoot: () => process.getuid?.() === 0,
  systemdRunning: () => existsSync("/run/systemd/system"),
  run: (cmd) => {
    const r = runChecked(cmd);
    if (!r.ok) throw new CommandFailed(`${cmd.join(" ")} failed${r.out ? `: ${r.out}` : ""}`);
  },
};

interface Step {
  /** Said before carrying it out in a dry run ("would ..."), and after it otherwise. */
  would: string;
  done: string;
  /** A file's content, printed in a dry run. */
  body?: string;
  run?: () => void;
}
const note = (text: string): Step => ({ would: text, done: text });

// systemd would read spaces, quotes, `%` (specifiers) and `$` in a path as something else: keep paths plain.
const PLAIN_PATH = /^\/[A-Za-z0-9._+\-/]*$/;
function absolutePath(flag: string, raw: string): string {
  if (!PLAIN_PATH.test(raw) || raw.split("/").includes("..")) {
    throw new ConfigError(`invalid ${flag} ${JSON.stringify(raw)}: must be an absolute path of letters, digits and . _ + - /\n${USAGE}`);
  }
  return raw.length > 1 ? raw.replace(/\/+$/, "") : raw;
}

function checkFlags(command: string, args: ParsedArgs, allowed: string[]): void {
  for (const flag of args.flags.keys()) {
    if (!allowed.includes(flag)) throw new ConfigError(`${command} takes no ${flag}\n${USAGE}`);
  }
  if (args.positionals.length) throw new ConfigError(`${command} takes no arguments (got ${JSON.stringify(args.positionals[0])})\n${USAGE}`);
}

/** The binary the unit starts: --binary, else this one when it is a compiled gridcast. */
function binaryOf(args: ParsedArgs, prefix: string): string {
  const given = args.flags.get("--binary");
  if (given === undefined) {
    // From source, process.execPath is bun and the program a .ts file in a work tree, which the
    // unit's ProtectHome= would hide anyway: a service wants the compiled binary.
    if (!Bun.main.startsWith("/$bunfs/")) {
      throw new ConfigError(`this gridcast runs from source (${process.execPath} ${Bun.main}), and a service should start the compiled binary: `
        + `build it (npm run build) and run dist/gridcast install, or name the binary the unit starts with --binary PATH\n${USAGE}`);
    }
    return absolutePath("binary", process.execPath);
  }
  const binary = absolutePath("--binary", given);
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (!executable(binary) && !executable(join(prefix, binary))) throw new ConfigError(`invalid --binary ${JSON.stringify(given)}: no executable file there`);
  return binary;
}

/** `group`: the file is root's and readable by that user's group (on / only). */
function writeStep(path: string, body: string, mode: number, group?: { name: string; ids: () => { uid: number; gid: number } }): Step {
  const shown = `${path} (${mode.toString(8).padStart(4, "0")}${group ? `, root:${group.name}` : ""})`;
  return {
    would: `would write ${shown}:`, done: `wrote ${shown}`, body,
    run: () => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, body, { mode });
      chmodSync(path, mode); // the umask must not loosen it
      if (group) chownSync(path, 0, group.ids().gid);
    },
  };
}

function ours(path: string): boolean {
  try {
    return readFileSync(path, "utf8").includes(INSTALL_MARK);
  } catch {
    return false;
  }
}

export function installSteps(args: ParsedArgs, version: string, sys: System): Step[] {
  checkFlags("install", args, [...INSTALL_FLAGS, ...INSTALL_BOOLEANS, SETTINGS.dataDir.flag]);
  const prefix = absolutePath("--prefix", args.flags.get("--prefix") ?? "/");
  const user = args.flags.get("--user") ?? "gridcast";
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw new ConfigError(`invalid --user ${JSON.stringify(user)}: must be a user name such as gridcast\n${USAGE}`);
  const dataDir = absolutePath("--data-dir", args.flags.get(SETTINGS.dataDir.flag) ?? DEFAULT_DATA_DIR);
  if (dataDir === "/") throw new ConfigError(`invalid --data-dir "/": the service may write only in its own folder\n${USAGE}`);
  const binary = binaryOf(args, prefix);
  const onRoot = prefix === "/";
  const at = (path: string) => join(prefix, path);
  if (existsSync(at(UNIT)) && !ours(at(UNIT))) throw new CommandFailed(`${at(UNIT)} exists and was not written by gridcast install: left alone`);
  if (onRoot && !args.flags.has("--dry-run") && !sys.isRoot()) {
    throw new CommandFailed("installing into / needs root: run it with sudo (or see what it would do with --dry-run, or write under --prefix DIR)");
  }

  const steps: Step[] = [];
  const owner = onRoot ? () => sys.ids(user) : undefined;
  if (!onRoot) {
    steps.push(note(`user ${user}: not created, and no owner changed, as --prefix is not / (on the target: useradd --system --user-group ${user})`));
  } else if (sys.userExists(user)) {
    steps.push(note(`user ${user} exists: kept`));
  } else {
    const shell = existsSync("/usr/sbin/nologin") ? "/usr/sbin/nologin" : "/bin/false";
    const cmd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", dataDir, "--shell", shell, user];
    steps.push({ would: `would create user ${user}: ${cmd.join(" ")}`, done: `created user ${user}`, run: () => sys.run(cmd) });
  }

  const dir = at(dataDir);
  const kept = existsSync(dir) ? " (exists: its content is kept)" : "";
  steps.push({
    would: `would create data dir ${dir} (0700${onRoot ? `, owner ${user}` : ""})${kept}`,
    done: `data dir ${dir} (0700${onRoot ? `, owner ${user}` : ""})${kept}`,
    run: () => {
      mkdirSync(dirname(dir), { recursive: true }); // parents as usual: the service must get through them
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o700);
      if (owner) {
        const { uid, gid } = owner();
        chownSync(dir, uid, gid);
      }
    },
  });

  const settings = settingsTemplate({ version, dataDir, settingsFile: SETTINGS_FILE });
  if (existsSync(at(SETTINGS_FILE))) {
    steps.push(note(`${at(SETTINGS_FILE)} exists: kept as it is (its settings are yours; gridcast install --dry-run shows the current template)`));
  } else {
    steps.push(writeStep(at(SETTINGS_FILE), settings, 0o640, owner && { name: user, ids: owner }));
  }
  steps.push(writeStep(at(UNIT), systemdUnit({ binary, user, dataDir, settingsFile: SETTINGS_FILE, version }), 0o644));

  if (onRoot && sys.systemdRunning()) {
    steps.push({ would: "would run systemctl daemon-reload", done: "ran systemctl daemon-reload", run: () => sys.run(["systemctl", "daemon-reload"]) });
    steps.push(note("start it with: systemctl enable --now gridcast (logs: journalctl -u gridcast)"));
  } else {
    steps.push(note(`on the target: systemctl daemon-reload && systemctl enable --now gridcast${onRoot ? " (systemd does not run here)" : ""}`));
  }
  return steps;
}

export function uninstallSteps(args: ParsedArgs, sys: System): Step[] {
  checkFlags("uninstall", args, ["--prefix", ...INSTALL_BOOLEANS]);
  const prefix = absolutePath("--prefix", args.flags.get("--prefix") ?? "/");
  const onRoot = prefix === "/";
  const at = (path: string) => join(prefix, path);
  const files = [at(UNIT), at(SETTINGS_FILE)].filter((f) => existsSync(f));
  const foreign = files.filter((f) => !ours(f));
  if (foreign.length) throw new CommandFailed(`${foreign.join(" and ")} not written by gridcast install: nothing removed`);
  if (onRoot && files.length && !args.flags.has("--dry-run") && !sys.isRoot()) throw new CommandFailed("uninstalling from / needs root: run it with sudo");

  const steps: Step[] = [];
  if (!files.length) return [note(`not installed under ${prefix}: nothing to remove`)];
  // The unit says where the data is; it stays, as does the user that owns it.
  const dataDir = existsSync(at(UNIT)) ? /--data-dir (\S+)/.exec(readFileSync(at(UNIT), "utf8"))?.[1] : undefined;
  const systemd = onRoot && sys.systemdRunning();
  if (systemd && existsSync(at(UNIT))) {
    const cmd = ["systemctl", "disable", "--now", "gridcast"];
    steps.push({ would: `would run ${cmd.join(" ")}`, done: `ran ${cmd.join(" ")}`, run: () => sys.run(cmd) });
  }
  for (const f of files) steps.push({ would: `would remove ${f}`, done: `removed ${f}`, run: () => rmSync(f) });
  const folder = dirname(at(SETTINGS_FILE));
  if (existsSync(folder) && readdirSync(folder).every((name) => files.includes(join(folder, name)))) {
    steps.push({ would: `would remove ${folder} (empty then)`, done: `removed ${folder}`, run: () => rmdirSync(folder) });
  }
  if (systemd) steps.push({ would: "would run systemctl daemon-reload", done: "ran systemctl daemon-reload", run: () => sys.run(["systemctl", "daemon-reload"]) });
  steps.push(note(`kept: the data${dataDir ? ` in ${at(dataDir)}` : ""}${onRoot ? " and its user" : ""} (remove them by hand once they are no longer needed)`));
  return steps;
}

/** Runs `install` or `uninstall`, printing each step (or, with --dry-run, what it would do). */
export function installCommand(command: "install" | "uninstall", args: ParsedArgs, version: string,
  print: (line: string) => void = (l) => process.stdout.write(`${l}\n`), sys: System = realSystem): void {
  const steps = command === "install" ? installSteps(args, version, sys) : uninstallSteps(args, sys);
  const dry = args.flags.has("--dry-run");
  if (dry) print(`gridcast ${command} --dry-run: nothing is written, created or run`);
  for (const step of steps) {
    if (dry) {
      print(step.would);
      if (step.body) print(step.body.replace(/^/gm, "    ").trimEnd());
      continue;
    }
    step.run?.();
    print(step.done);
  }
}
