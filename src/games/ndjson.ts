// NDJSON lines of the games interchange format: one JSON object per line, read into the wanted keys.
// Returns a reason string instead of throwing; parse.ts adds the line number.

/** Parses one line and writes the value of columns[i] into out[i]; other keys are ignored. */
export function readObject(line: string, columns: readonly string[], out: unknown[]): string | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "invalid JSON";
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "expected a JSON object";
  const record = value as Record<string, unknown>;
  for (let i = 0; i < columns.length; i++) {
    const v = record[columns[i]];
    if (v === undefined) return `missing key "${columns[i]}"`;
    // JSON escapes can smuggle in what a raw line can't (\u0000), so strings get the check
    // parse.ts makes on the raw text.
    if (typeof v === "string" && hasControlCharacter(v)) return `${columns[i]} contains a control character`;
    out[i] = v;
  }
  return null;
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}
