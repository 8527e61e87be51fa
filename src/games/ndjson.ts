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
    // JSON escapes can carry what a raw line can't (\u0000, a lone \ud800): parse.ts checks the
    // values themselves (the id rule, the number grammar), not the line.
    out[i] = v;
  }
  return null;
}
