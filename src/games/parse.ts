// Streaming parser for the games interchange format (spec/strategy.md "Games"): bytes in, validated
// rows out in columnar batches. Memory stays bounded by one batch, the longest line and one entry per game.
import { DomainError } from "../errors.ts";
import { parseDecimal, readHeader, splitRow, type CsvHeader } from "./csv.ts";
import { gameIdProblem, MAX_GAME_ID, quoteValue } from "./ids.ts";
import { readObject } from "./ndjson.ts";

export type GameFormat = "csv" | "ndjson";

/** Rows in columnar typed arrays, so millions of ticks never become millions of objects. */
export interface RowBatch {
  /** One string instance per game, shared by all its rows. */
  gameIds: string[];
  t: Float64Array<ArrayBuffer>;
  price: Float64Array<ArrayBuffer>;
  fair: Float64Array<ArrayBuffer>;
  outcome: Uint8Array<ArrayBuffer>;
  /** 1-based physical line of each row in the file (the CSV header is line 1). */
  line: Uint32Array<ArrayBuffer>;
  /** Row count; every array above has exactly this length. */
  length: number;
}

export interface ParseStats {
  games: number;
  ticks: number;
  /** Physical lines read, blank ones included. */
  lines: number;
  bytes: number;
}

export interface ParseOptions {
  format: GameFormat;
  /** Rows per batch (default 10 000). */
  batchSize?: number;
  /** Longest accepted line in bytes (default 1 MiB); a longer one is a 413 found without buffering it. */
  maxLineBytes?: number;
  /** Largest accepted input in bytes; more is a 413. */
  maxBytes?: number;
  /** Most distinct games in one file; more is a 413. */
  maxGames?: number;
  /** Most ticks in one game; more is a 413. */
  maxTicksPerGame?: number;
  /** Called after each chunk with the bytes read so far, for progress. */
  onBytes?: (bytes: number) => void;
  /** Filled as parsing goes and final once the generator finishes (it is also the generator's return value). */
  stats?: ParseStats;
}

/** A rejected file: the message is exactly `line L: <reason>`, as the import API reports it. */
export class ImportError extends DomainError {
  readonly line: number;
  readonly reason: string;

  /** `invalid` for bad data (422), `too_large` for size limits (413). */
  constructor(line: number, reason: string, code: "invalid" | "too_large" = "invalid") {
    super(code, `line ${line}: ${reason}`);
    this.name = "ImportError";
    this.line = line;
    this.reason = reason;
  }
}

const COLUMNS = ["game_id", "t", "price", "fair", "outcome"] as const;
const NEWLINE = 10;
/** Binary noise: control characters other than tab and line ends (a lone CR is not a line end). */
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n|$)/;

/**
 * Parses a CSV or NDJSON games file, yielding rows in batches of `batchSize` and throwing an
 * ImportError at the first bad line. Checks that need every row of a game at once (duplicate `t`)
 * are left to the database; outcome consistency is checked here with one Map entry per game.
 *
 * Numbers: CSV fields and NDJSON values may be JSON numbers (NDJSON) or strings holding a plain
 * decimal literal (`-1.5`, `2e3`); empty fields, hex, `Infinity`, NaN and inner whitespace are
 * rejected. Spaces and tabs around an unquoted CSV field are ignored; quoted fields and NDJSON
 * strings are taken verbatim. `game_id` may also be a JSON number, which is stringified; either way
 * it must pass the id rule of ids.ts.
 */
export async function* parseGames(
  chunks: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  options: ParseOptions,
): AsyncGenerator<RowBatch, ParseStats, undefined> {
  if (options.format !== "csv" && options.format !== "ndjson") {
    throw new TypeError(`unknown games format: ${String(options.format)}`);
  }
  const maxLineBytes = options.maxLineBytes ?? 1 << 20;
  const stats = options.stats ?? { games: 0, ticks: 0, lines: 0, bytes: 0 };
  stats.games = stats.ticks = stats.lines = stats.bytes = 0;
  const rows = new RowBuilder(options.batchSize ?? 10_000, options, stats);
  // fatal: invalid UTF-8 is an error, not silently U+FFFD; the decoder also drops a leading BOM.
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const fields: unknown[] = new Array(COLUMNS.length);
  let header: CsvHeader | null = null;
  let headerLine = 0;
  let carry = ""; // decoded text of the unfinished line
  let carryBytes = 0; // its size in bytes, so an endless line is caught before it is kept
  let lineNo = 0; // lines finished so far
  let endsInCR = false; // a CR that ends a chunk is only a line end if the next chunk starts with LF

  // Returns true when the line filled the current batch.
  const readLine = (raw: string): boolean => {
    const text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (text.length === 0 || (isBlank(text.charCodeAt(0)) && text.trim() === "")) return false;
    let reason: string | null;
    if (options.format === "ndjson") {
      reason = readObject(text, COLUMNS, fields);
    } else if (header) {
      reason = splitRow(text, header, fields as string[]);
    } else {
      const read = readHeader(text, COLUMNS);
      if (typeof read === "string") throw new ImportError(lineNo, read);
      header = read;
      headerLine = lineNo;
      return false;
    }
    if (reason) throw new ImportError(lineNo, reason);
    return rows.add(fields, lineNo);
  };

  // Bun's ReadableStream is async-iterable (and cancelled if we stop early); the DOM typings don't say so.
  try {
    for await (const chunk of chunks as AsyncIterable<Uint8Array>) {
      stats.bytes += chunk.length;
      if (options.maxBytes !== undefined && stats.bytes > options.maxBytes) {
        throw new ImportError(lineNo + 1, `file larger than ${options.maxBytes} bytes`, "too_large");
      }
      options.onBytes?.(stats.bytes);
      carryBytes = checkLineBytes(chunk, carryBytes, maxLineBytes, lineNo);
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw new ImportError(badUtf8Line(chunk, lineNo + 1), "invalid UTF-8");
      }
      const control = CONTROL.exec(text);
      if (control) throw new ImportError(lineAt(text, control.index, lineNo + 1), controlCharacter(text.charCodeAt(control.index)));
      if (text.length === 0) continue; // the chunk ended inside a character
      if (endsInCR && text.charCodeAt(0) !== NEWLINE) throw new ImportError(lineNo + 1, controlCharacter(13));
      endsInCR = text.charCodeAt(text.length - 1) === 13;
      let nl = text.indexOf("\n");
      if (nl === -1) {
        carry += text;
        continue;
      }
      let line = carry + text.slice(0, nl);
      carry = "";
      for (;;) {
        stats.lines = ++lineNo;
        if (readLine(line)) yield rows.take();
        const start = nl + 1;
        nl = text.indexOf("\n", start);
        if (nl === -1) {
          carry = text.slice(start);
          break;
        }
        line = text.slice(start, nl);
      }
    }
    try {
      carry += decoder.decode();
    } catch {
      throw new ImportError(lineNo + 1, "invalid UTF-8 (the file ends inside a character)");
    }
    if (carry.length > 0) {
      stats.lines = ++lineNo;
      if (readLine(carry)) yield rows.take();
    }
  } catch (err) {
    // Hand over the good rows read before the bad line, so the caller can still find an earlier
    // bad line that only shows across rows (a duplicate t), then report whichever comes first.
    if (err instanceof ImportError && rows.pending > 0) yield rows.take();
    throw err;
  }
  if (stats.ticks === 0) {
    throw new ImportError(headerLine || 1, header ? "no rows after the header" : "empty file");
  }
  if (rows.pending > 0) yield rows.take();
  return stats;
}

/**
 * Picks the format from a Content-Type (or a file name) and the first bytes: explicit NDJSON or CSV
 * types win; otherwise a leading `{` means NDJSON and a printable first line with a comma means CSV.
 * Returns null for binary data, or when there is nothing to go on.
 */
export function detectFormat(contentType?: string, firstBytes?: Uint8Array): GameFormat | null {
  const hint = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (/(ndjson|jsonl|jsonlines|json-seq)$/.test(hint)) return "ndjson";
  if (/^(text|application)\/(x-)?csv$/.test(hint) || hint.endsWith(".csv")) return "csv";
  if (!firstBytes || firstBytes.length === 0) return hint === "text/plain" ? "csv" : null;
  let text: string;
  try {
    // stream: the sample may end inside a character.
    text = new TextDecoder("utf-8", { fatal: true }).decode(firstBytes, { stream: true });
  } catch {
    return null;
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 127) return null;
  }
  const body = text.trimStart();
  if (body.startsWith("{")) return "ndjson";
  const firstLine = body.split("\n", 1)[0];
  return hint === "text/plain" || firstLine.includes(",") ? "csv" : null;
}

/** Per-game state: the outcome every later row must repeat, and a tick count for the limit. */
interface Game {
  id: string;
  outcome: number;
  ticks: number;
}

/** Validates rows into the current batch and keeps the per-game checks and counts. */
class RowBuilder {
  private readonly games = new Map<string, Game>();
  private last: Game | null = null; // rows of one game usually come together; skip the Map for those
  private batch: RowBatch;
  pending = 0;

  constructor(
    private readonly size: number,
    private readonly limits: ParseOptions,
    private readonly stats: ParseStats,
  ) {
    if (!(size >= 1)) throw new RangeError(`batchSize must be at least 1, got ${size}`);
    this.batch = newBatch(size);
  }

  /** Adds one row of raw values in COLUMNS order; returns true when the batch is full. */
  add(f: unknown[], line: number): boolean {
    const id = gameIdText(f[0], line);
    const t = toNumber("t", f[1], line);
    const price = toProbability("price", f[2], line);
    const fair = toProbability("fair", f[3], line);
    const outcome = toNumber("outcome", f[4], line);
    if (outcome !== 0 && outcome !== 1) throw new ImportError(line, `outcome ${outcome} is not 0 or 1`);
    let game = this.last !== null && this.last.id === id ? this.last : this.games.get(id);
    if (game === undefined) {
      const { maxGames } = this.limits;
      // The id rule runs once per game, not per row: a known id has passed it.
      checkGameId(id, line);
      if (maxGames !== undefined && this.games.size >= maxGames) {
        throw new ImportError(line, `more than ${maxGames} games in one file`, "too_large");
      }
      // A copy, not the slice: a slice can pin its whole line (up to maxLineBytes) for as long as the
      // game is known. Today's JSC happens to flatten Map keys; this doesn't lean on that.
      const own = JSON.parse(JSON.stringify(id)) as string;
      game = { id: own, outcome, ticks: 0 };
      this.games.set(own, game);
      this.stats.games++;
    } else if (game.outcome !== outcome) {
      throw new ImportError(line, `outcome ${outcome} differs from outcome ${game.outcome} earlier in game ${quote(id)}`);
    }
    this.last = game;
    const { maxTicksPerGame } = this.limits;
    if (++game.ticks > (maxTicksPerGame ?? Infinity)) {
      throw new ImportError(line, `game ${quote(id)} has more than ${maxTicksPerGame} ticks`, "too_large");
    }
    this.stats.ticks++;
    const b = this.batch;
    const i = this.pending++;
    b.gameIds[i] = game.id;
    b.t[i] = t;
    b.price[i] = price;
    b.fair[i] = fair;
    b.outcome[i] = outcome;
    b.line[i] = line;
    return this.pending === this.size;
  }

  /** Hands over the current batch (trimmed to its rows) and starts a new one: the consumer may keep it. */
  take(): RowBatch {
    const b = this.batch;
    const n = this.pending;
    this.batch = newBatch(this.size);
    this.pending = 0;
    if (n === this.size) return b;
    b.gameIds.length = n;
    return {
      gameIds: b.gameIds,
      t: b.t.subarray(0, n),
      price: b.price.subarray(0, n),
      fair: b.fair.subarray(0, n),
      outcome: b.outcome.subarray(0, n),
      line: b.line.subarray(0, n),
      length: n,
    };
  }
}

function newBatch(size: number): RowBatch {
  return {
    gameIds: new Array<string>(size),
    t: new Float64Array(size),
    price: new Float64Array(size),
    fair: new Float64Array(size),
    outcome: new Uint8Array(size),
    line: new Uint32Array(size),
    length: size,
  };
}

export function gameIdText(v: unknown, line: number): string {
  const id = typeof v === "number" && Number.isFinite(v) ? String(v) : v;
  if (typeof id !== "string") throw new ImportError(line, `game_id is not a string: ${quote(v)}`);
  return id;
}

export function checkGameId(id: string, line: number): void {
  const problem = gameIdProblem(id);
  if (problem === null) return;
  // The id itself only where it helps: an empty or very long one says nothing more.
  const shown = id.length === 0 || id.length > MAX_GAME_ID ? "" : ` ${quote(id)}`;
  throw new ImportError(line, `game_id${shown} ${problem}`);
}

export function toNumber(name: string, v: unknown, line: number): number {
  if (typeof v === "number") {
    // JSON can still overflow to Infinity (1e999).
    if (Number.isFinite(v)) return v;
  } else if (typeof v === "string") {
    if (v.length === 0) throw new ImportError(line, `${name} is empty`);
    const x = parseDecimal(v);
    if (Number.isFinite(x)) return x;
  }
  throw new ImportError(line, `${name} is not a number: ${quote(v)}`);
}

export function toProbability(name: string, v: unknown, line: number): number {
  const x = toNumber(name, v, line);
  if (x >= 0 && x <= 1) return x;
  throw new ImportError(line, `${name} ${x} is outside [0, 1]`);
}

/** Checks line lengths in bytes before decoding, so an endless line fails after maxLineBytes, not at the end. */
function checkLineBytes(chunk: Uint8Array, carried: number, max: number, lineNo: number): number {
  if (carried + chunk.length <= max) {
    // No line ending in or crossing this chunk can be too long: just carry the tail's size.
    const last = chunk.lastIndexOf(NEWLINE);
    return last === -1 ? carried + chunk.length : chunk.length - last - 1;
  }
  let line = lineNo + 1;
  let length = carried;
  let prev = -1;
  for (;;) {
    const nl = chunk.indexOf(NEWLINE, prev + 1);
    length += (nl === -1 ? chunk.length : nl) - prev - 1;
    if (length > max) throw new ImportError(line, `line longer than ${max} bytes`, "too_large");
    if (nl === -1) return length;
    prev = nl;
    line++;
    length = 0;
  }
}

/**
 * Finds the line of the bad byte after the stream decoder failed on this chunk, decoding each line
 * alone (0x0A never occurs inside a UTF-8 sequence). The first line may begin with the tail of a
 * character started in the previous chunk: that tail is skipped, and blamed if nothing else fails.
 */
function badUtf8Line(chunk: Uint8Array, firstLine: number): number {
  let start = 0;
  while (start < 3 && (chunk[start] & 0xc0) === 0x80) start++;
  for (let line = firstLine; start <= chunk.length; line++) {
    const nl = chunk.indexOf(NEWLINE, start);
    try {
      // The last piece may end inside a character that the next chunk completes.
      new TextDecoder("utf-8", { fatal: true }).decode(chunk.subarray(start, nl === -1 ? chunk.length : nl), { stream: nl === -1 });
    } catch {
      return line;
    }
    if (nl === -1) break;
    start = nl + 1;
  }
  return firstLine;
}

/** The line holding text[index], given that text starts on line `first`. */
function lineAt(text: string, index: number, first: number): number {
  let line = first;
  for (let nl = text.indexOf("\n"); nl !== -1 && nl < index; nl = text.indexOf("\n", nl + 1)) line++;
  return line;
}

function controlCharacter(c: number): string {
  if (c === 13) return "carriage return inside a line (lines end with \\n or \\r\\n)";
  return `binary data: control character 0x${c.toString(16).padStart(2, "0")}`;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** Quotes a value for a reason, shortened: the message goes back to whoever sent the file. */
function quote(v: unknown): string {
  // String() for numbers: JSON would print an overflowed 1e999 as null.
  return typeof v === "number" ? String(v) : quoteValue(v);
}
