// One log line per event, with time and level: `text` for people, `json` for machines.
export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  format: "text" | "json";
  level: Level;
  write?: (line: string) => void;
  now?: () => Date;
}

function plain(value: unknown): unknown {
  if (value instanceof Error) return value.stack?.split("\n").slice(0, 4).join(" | ") ?? value.message;
  return value;
}

function textValue(value: unknown): string {
  const v = plain(value);
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s !== undefined && /^[\w.:/@+-]*$/.test(s) && s !== "" ? s : JSON.stringify(s ?? String(v));
}

export function createLogger(options: LoggerOptions, base: Fields = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const now = options.now ?? (() => new Date());
  // Level and format are read at each line: a reload (src/server/reload.ts) may change them.
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (RANK[level] < RANK[options.level]) return;
    const all = { ...base, ...fields };
    const time = now().toISOString();
    if (options.format === "json") {
      const obj: Fields = { time, level, msg };
      for (const [k, v] of Object.entries(all)) obj[k] = plain(v);
      write(JSON.stringify(obj));
    } else {
      const extra = Object.entries(all).map(([k, v]) => ` ${k}=${textValue(v)}`).join("");
      // One event is one line, even when a message carries newlines.
      write(`${time} ${level.toUpperCase().padEnd(5)} ${msg.replace(/\n/g, "\\n")}${extra}`);
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything: for tests that do not look at logs. */
export const silentLogger: Logger = createLogger({ format: "text", level: "error", write: () => {} });
