// The game id rule (README "Games"): which text may name a game. Every door an id comes in by
// (the import parser, route params, request bodies) asks this one function, so nothing the store
// cannot hold exactly (NUL, lone surrogates) and nothing a spreadsheet would run reaches it.

export const MAX_GAME_ID = 200;

// C0 controls, DEL and C1 controls, and the Unicode line/paragraph separators: text that is not
// printable and that breaks a CSV line, a log line or a page.
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP
// "CSV Injection"). Refusing them here keeps the export byte-exact: no cell needs escaping.
const FORMULA_START = /^[=+\-@]/;
const EDGE_SPACE = /^\s|\s$/;

const codePoint = (c: number) => `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * Why `id` is not a valid game id, or null if it is. The reason reads after the field's name
 * ("game_id is empty", `games: "x" starts with "="...`). Lengths count UTF-16 units, the unit
 * the database and the views measure strings in.
 */
export function gameIdProblem(id: string): string | null {
  if (id.length === 0) return "is empty";
  if (id.length > MAX_GAME_ID) return `is longer than ${MAX_GAME_ID} characters`;
  const control = CONTROL.exec(id);
  if (control) return `contains a control character (${codePoint(id.charCodeAt(control.index))})`;
  const lone = LONE_SURROGATE.exec(id);
  if (lone) return `contains a lone surrogate (${codePoint(id.charCodeAt(lone.index))}), which is not valid Unicode text`;
  if (EDGE_SPACE.test(id)) return "starts or ends with whitespace";
  if (FORMULA_START.test(id)) return `starts with "${id[0]}", which spreadsheets run as a formula`;
  return null;
}

/**
 * Why `id` cannot even be looked up: what no stored id can hold (NUL, lone surrogates) or be
 * (empty, too long). Naming a game that exists (to delete it, or to run a job on it) asks only
 * this, so a game stored before the rule above was tightened can still be named and deleted;
 * a name that breaks only the stricter rule is simply not found.
 */
export function lookupIdProblem(id: string): string | null {
  if (id.length === 0) return "is empty";
  if (id.length > MAX_GAME_ID) return `is longer than ${MAX_GAME_ID} characters`;
  const nul = id.indexOf("\u0000");
  if (nul >= 0) return "contains a control character (U+0000)";
  const lone = LONE_SURROGATE.exec(id);
  if (lone) return `contains a lone surrogate (${codePoint(id.charCodeAt(lone.index))}), which is not valid Unicode text`;
  return null;
}

export function isGameId(id: unknown): id is string {
  return typeof id === "string" && gameIdProblem(id) === null;
}

/** A value quoted for a reason: JSON, with DEL, C1 and the line separators escaped too (JSON
 *  leaves them raw), shortened, as it goes back to whoever sent it. */
export function quoteValue(value: unknown): string {
  const s = (JSON.stringify(value) ?? String(value)).replace(/[\x7f-\x9f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return s.length > 60 ? `${s.slice(0, 57)}..."` : s;
}
