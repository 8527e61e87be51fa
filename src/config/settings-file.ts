// The settings file (--settings-file): KEY=VALUE lines naming the settings table's variables, read
// at start and again on SIGHUP. This reads only the format into raw strings; their values are
// checked by the resolver, like a flag's or a variable's. systemd's EnvironmentFile= is not used
// for it, because systemd reads that once and a reload would not see a change.
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { SETTINGS } from "./settings";

/** Far above a file of every setting with its comments (about 10 KB): anything this big is not one. */
const MAX_FILE_BYTES = 1024 * 1024;

export interface SettingsFile {
  /** Absolute path, as error messages name it. */
  path: string;
  /** Variable name -> its raw value and the line it was set on. */
  values: Map<string, { value: string; line: number }>;
}

export class SettingsFileError extends Error {}

const KNOWN = new Set(Object.values(SETTINGS).map((s) => s.env));
const SELF = SETTINGS.settingsFile.env;

/**
 * Blank lines and lines starting with `#` are skipped; `export ` before a key is allowed; a value
 * may be in "double" quotes (with \" and \\ inside) or 'single' quotes (taken as is), and an
 * unquoted one ends at ` #` (a comment after it). Anything else is an error naming its line.
 */
export function parseSettingsFile(text: string, path: string): SettingsFile {
  const values = new Map<string, { value: string; line: number }>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const fail = (why: string): never => {
      throw new SettingsFileError(`${path} line ${line}: ${why}`);
    };
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(raw)) fail("contains a control character");
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!m) fail(`expected KEY=VALUE, got ${JSON.stringify(trimmed.slice(0, 80))}`);
    const [, key, rest] = m!;
    if (key === SELF) fail(`${SELF} names this file; it cannot be set inside it`);
    if (!KNOWN.has(key!)) fail(`unknown setting ${key} (see gridcast --help)`);
    const before = values.get(key!);
    if (before) fail(`${key} is set again (first on line ${before.line})`);
    values.set(key!, { value: valueOf(rest!, fail), line });
  });
  return { path, values };
}

function valueOf(rest: string, fail: (why: string) => never): string {
  const quote = rest[0];
  if (quote !== '"' && quote !== "'") return rest.replace(/\s+#.*$/, "").trim();
  let value = "";
  let i = 1;
  for (; i < rest.length && rest[i] !== quote; i++) {
    if (quote === '"' && rest[i] === "\\" && (rest[i + 1] === '"' || rest[i + 1] === "\\")) i++;
    value += rest[i];
  }
  if (i >= rest.length) fail(`the value's closing ${quote} is missing`);
  const after = rest.slice(i + 1).trim();
  if (after !== "" && !after.startsWith("#")) fail(`unexpected ${JSON.stringify(after.slice(0, 40))} after the quoted value`);
  return value;
}

/** Reads and parses the file; a missing, unreadable or malformed file is a SettingsFileError naming it. */
export function readSettingsFile(path: string): SettingsFile {
  const abs = resolvePath(path);
  let text: string;
  try {
    const bytes = readFileSync(abs);
    if (bytes.length > MAX_FILE_BYTES) throw new SettingsFileError(`${abs}: larger than ${MAX_FILE_BYTES} bytes: not a settings file`);
    text = bytes.toString("utf8");
  } catch (err) {
    if (err instanceof SettingsFileError) throw err;
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new SettingsFileError(`settings file ${abs}: cannot be read (${reason})`);
  }
  return parseSettingsFile(text, abs);
}
