// CSV lines of the games interchange format: reads the header into a column map and splits
// one row into the wanted fields, and parses numbers. Returns reasons, never throws: parse.ts adds the line.

/** Where each wanted column sits in the file: slots[position] is its index in `columns`, or -1. */
export interface CsvHeader {
  slots: Int32Array;
  names: readonly string[];
  width: number;
}

const COMMA = 44;
const QUOTE = 34;
const SPACE = 32;
const TAB = 9;

/** Reads the header line: names are trimmed and compared case-insensitively; extra columns are kept only to count fields. */
export function readHeader(line: string, columns: readonly string[]): CsvHeader | string {
  const fields: string[] = [];
  const reason = splitAll(line, fields);
  if (reason) return reason;
  const names = fields.map((f) => f.trim().toLowerCase());
  const slots = new Int32Array(names.length).fill(-1);
  const positions = new Int32Array(columns.length).fill(-1);
  for (let p = 0; p < names.length; p++) {
    const slot = columns.indexOf(names[p]);
    if (slot < 0) continue;
    if (positions[slot] >= 0) return `duplicate column "${columns[slot]}"`;
    positions[slot] = p;
    slots[p] = slot;
  }
  const missing = columns.find((_, slot) => positions[slot] < 0);
  if (missing !== undefined) return `missing column "${missing}"`;
  return { slots, names: columns, width: names.length };
}

/**
 * Splits one data row, writing the wanted fields into out[slot]. RFC 4180 quoting within the line
 * ("a,b" and doubled quotes); spaces and tabs around an unquoted field are dropped so hand-written
 * `g1, 0.5` works, while a quoted field is kept verbatim. Ignored columns are scanned, never copied.
 */
export function splitRow(line: string, header: CsvHeader, out: string[]): string | null {
  const { slots, width } = header;
  const field = splitFields(line, slots, out);
  if (typeof field === "string") return field;
  if (field > width) return `too many fields: ${field}, the header has ${width}`;
  // A short row is fine only if what it lacks are extra columns we ignore.
  for (let p = field; p < width; p++) {
    if (slots[p] >= 0) return `missing column "${header.names[slots[p]]}"`;
  }
  return null;
}

/** The scanner behind splitRow: writes field p into out[slots[p]] when that is >= 0 and returns the field count. */
function splitFields(line: string, slots: Int32Array, out: string[]): number | string {
  const n = line.length;
  const known = slots.length;
  let field = 0;
  let i = 0;
  for (;;) {
    let c = i < n ? line.charCodeAt(i) : -1;
    while (c === SPACE || c === TAB) c = ++i < n ? line.charCodeAt(i) : -1;
    const slot = field < known ? slots[field] : -1;
    if (c === QUOTE) {
      const quoted = readQuoted(line, i + 1);
      if (typeof quoted === "string") return quoted;
      i = quoted.end;
      if (slot >= 0) out[slot] = quoted.value;
      c = i < n ? line.charCodeAt(i) : -1;
      while (c === SPACE || c === TAB) c = ++i < n ? line.charCodeAt(i) : -1;
      if (c !== COMMA && c !== -1) return "unexpected character after a quoted field";
    } else {
      // Raw control characters were already refused per chunk, so finding the comma is all that's left.
      const comma = line.indexOf(",", i);
      const end = comma === -1 ? n : comma;
      if (slot >= 0) {
        let last = end;
        while (last > i && isBlank(line.charCodeAt(last - 1))) last--;
        out[slot] = line.slice(i, last);
      }
      i = end;
      c = comma === -1 ? -1 : COMMA;
    }
    field++;
    if (c === -1) return field;
    i++; // past the comma
  }
}

/** Reads a quoted field whose opening quote is just before `from`; a quote can't span lines here. */
function readQuoted(line: string, from: number): { value: string; end: number } | string {
  let value = "";
  let i = from;
  for (;;) {
    const q = line.indexOf('"', i);
    if (q === -1) return "unterminated quoted field (a field can't span lines)";
    if (line.charCodeAt(q + 1) === QUOTE) {
      value += line.slice(from, q + 1);
      i = from = q + 2;
      continue;
    }
    return { value: value + line.slice(from, q), end: q + 1 };
  }
}

/** Splits every field of a line (the header), unquoting as splitRow does. */
function splitAll(line: string, out: string[]): string | null {
  // A line of n characters has at most n + 1 fields; the identity map keeps them all.
  const slots = Int32Array.from({ length: line.length + 1 }, (_, p) => p);
  const count = splitFields(line, slots, out);
  if (typeof count === "string") return count;
  out.length = count;
  return null;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * Parses a plain decimal literal (the number grammar of CSV fields and of NDJSON numeric strings),
 * NaN for anything else: Number() alone would take "", " 1 ", "0x1f" and "Infinity". Literals of up
 * to 15 digits (the common case) skip Number(): digits / 10^k with both exact doubles is one
 * correctly rounded division, so the result is bit-identical to Number()'s.
 */
export function parseDecimal(s: string): number {
  const n = s.length;
  let i = s.charCodeAt(0) === 45 || s.charCodeAt(0) === 43 ? 1 : 0;
  let mantissa = 0;
  let digits = 0;
  let scale = -1; // digits after the point, -1 before it
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (scale >= 0) scale++;
    } else if (c === 46 && scale < 0) {
      scale = 0;
    } else {
      break;
    }
  }
  if (i === n && digits > 0 && digits <= 15) {
    const x = scale > 0 ? mantissa / POW10[scale] : mantissa;
    return s.charCodeAt(0) === 45 ? -x : x;
  }
  // Exponents, long literals and junk: validate the characters, then let Number() round.
  if (n === 0) return NaN;
  for (i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 43 || c === 101 || c === 69)) return NaN;
  }
  return Number(s);
}
