// The settings file `gridcast install` writes: every setting of the one settings table, commented
// out at its default, with its meaning and whether a reload takes it. Generated, never hand-kept.
import { SETTINGS, type SettingDef } from "../config/settings";
import { INSTALL_MARK } from "./systemd-unit";

export interface TemplateOptions {
  version: string;
  /** What the unit passes on ExecStart (and so wins over this file). */
  dataDir: string;
  settingsFile: string;
}

/** Words wrapped into `# ` comment lines of at most `width` characters. */
function comment(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = "#";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length + 1 + word.length > width && line !== "#") {
      lines.push(line);
      line = "#";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

/** The default as a value the setting would accept, or "" when it is a description ("number of cores"). */
function defaultValue(def: SettingDef): string {
  if (def.defaultText.startsWith("(")) return "";
  try {
    def.parse(def.defaultText);
    return def.defaultText;
  } catch {
    return "";
  }
}

function entry(def: SettingDef, o: TemplateOptions): string[] {
  const lines = [`# ${def.flag} [${def.live ? "live" : "restart"}]`, ...comment(def.doc), `# Default: ${def.defaultText.replace(/^\((.*)\)$/, "$1")}`];
  if (def === SETTINGS.settingsFile) {
    lines.push(...comment(`The unit names this file with ${def.flag}; it cannot be set inside it.`), `#${def.env}=${o.settingsFile}`);
  } else if (def === SETTINGS.dataDir) {
    lines.push(...comment(`The unit sets ${def.flag} ${o.dataDir} on ExecStart, which wins over this line (and only that folder is writable to the service): to move it, run gridcast install --data-dir DIR again.`), `#${def.env}=${o.dataDir}`);
  } else {
    lines.push(`#${def.env}=${defaultValue(def)}`);
  }
  return lines;
}

export function settingsTemplate(o: TemplateOptions): string {
  const head = [
    `# gridcast settings, read by the daemon at start and again on \`systemctl reload gridcast\` (SIGHUP).`,
    `# ${INSTALL_MARK} (gridcast ${o.version}) from its settings table; \`gridcast uninstall\` removes it.`,
    "#",
    ...comment("One KEY=VALUE a line; a line starting with # is a comment; a value may be in \"double\" or 'single' quotes. Uncomment a line to set it. A flag on the unit's ExecStart or a variable in the service's environment wins over this file."),
    "#",
    ...comment("[live]: a reload puts a new value in force at once, without dropping a connection. [restart]: it waits for `systemctl restart gridcast`; a reload names such settings in one log line. A file that does not resolve is refused whole on reload: the running settings stay and the error is logged."),
    "#",
    ...comment("This file may hold DATABASE_URL's password: it is kept 0640, readable by root and the service's group only."),
  ];
  const entries = Object.values(SETTINGS).map((def) => entry(def as SettingDef, o).join("\n"));
  return `${head.join("\n")}\n\n${entries.join("\n\n")}\n`;
}
