// Live games over HTTP (live.md "Ingest"): ticks in (NDJSON, streamed or not, or a JSON array),
// settlement, and the list of live games. The work is src/live's; this file only reads bodies
// under their bounds and hands the ticks to the one ingest path. Roles: ROUTE_ACCESS (index.ts).
import { Elysia } from "elysia";
import { t } from "elysia";
import { doc, json } from "../openapi";
import { LiveGames, SettleAnswer, Tick, TicksAnswer } from "./schemas";
import { invalid, tooLarge, unsupportedType } from "../../errors";
import { ImportError } from "../../games/parse";
import { MAX_TICKS_PER_REQUEST } from "../../live/ingest";
import type { LiveService } from "../../live/service";
import { readJsonObject, RequestBody } from "../body";
import { gameIdParam } from "../params";
import { identityOf } from "../request-identity";

export interface LiveDeps {
  live: LiveService;
  /** Most time a request body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs: number;
  /** Largest ingest body (--max-import-bytes). */
  maxBytes: number;
}

/** A tick is ~80 bytes; a line of 1 MiB is no tick (the import's line bound). */
export const MAX_LINE_BYTES = 1 << 20;
/** A JSON array is parsed whole, so it is held to less than a streamed NDJSON body. */
export const MAX_ARRAY_BYTES = 64 << 20;
const SETTLE_BYTES = 4 * 1024;

interface ReadTicks {
  ticks: unknown[];
  lines: number[];
}

/** NDJSON lines as they stream in: one JSON value per line, blank lines skipped. */
async function readNdjson(body: AsyncIterable<Uint8Array>): Promise<ReadTicks> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const ticks: unknown[] = [];
  const lines: number[] = [];
  let carry = "";
  let carryBytes = 0;
  let lineNo = 0;
  const take = (raw: string) => {
    lineNo++;
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text.trim() === "") return;
    if (ticks.length >= MAX_TICKS_PER_REQUEST) throw new ImportError(lineNo, `more than ${MAX_TICKS_PER_REQUEST} ticks in one request`, "too_large");
    try {
      ticks.push(JSON.parse(text));
    } catch {
      throw new ImportError(lineNo, "invalid JSON");
    }
    lines.push(lineNo);
  };
  for await (const chunk of body) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new ImportError(lineNo + 1, "invalid UTF-8");
    }
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      const piece = text.slice(start, nl);
      if (carryBytes + Buffer.byteLength(piece) > MAX_LINE_BYTES) throw new ImportError(lineNo + 1, `line longer than ${MAX_LINE_BYTES} bytes`, "too_large");
      take(carry + piece);
      carry = "";
      carryBytes = 0;
      start = nl + 1;
    }
    const rest = text.slice(start);
    carryBytes += Buffer.byteLength(rest);
    // Found as the line grows, never after buffering all of it.
    if (carryBytes > MAX_LINE_BYTES) throw new ImportError(lineNo + 1, `line longer than ${MAX_LINE_BYTES} bytes`, "too_large");
    carry += rest;
  }
  try {
    carry += decoder.decode();
  } catch {
    throw new ImportError(lineNo + 1, "invalid UTF-8 (the body ends inside a character)");
  }
  if (carry !== "") take(carry);
  return { ticks, lines };
}

/** A JSON array of ticks: element L is reported as line L. */
async function readArray(body: AsyncIterable<Uint8Array>): Promise<ReadTicks> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_ARRAY_BYTES) throw tooLarge(`a JSON array body is at most ${MAX_ARRAY_BYTES} bytes; send larger batches as NDJSON`);
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)));
  } catch {
    throw new ImportError(1, "invalid JSON");
  }
  if (!Array.isArray(value)) throw new ImportError(1, "expected a JSON array of ticks");
  return { ticks: value, lines: value.map((_, i) => i + 1) };
}

/** Reads the first bytes to tell an array from NDJSON when the type does not say. */
async function* withFirst(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (;;) {
    const { done, value } = await rest.next();
    if (done) return;
    yield value;
  }
}

async function readTicks(request: Request, deps: LiveDeps): Promise<ReadTicks> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const body = RequestBody.of(request, { maxBytes: deps.maxBytes, timeoutMs: deps.bodyTimeoutMs });
  if (!body) throw new ImportError(1, "no ticks");
  try {
    if (/(ndjson|jsonl|jsonlines)$/.test(type)) return await readNdjson(body);
    if (type === "application/json") return await readArray(body);
    if (type !== "" && type !== "text/plain" && type !== "application/octet-stream") {
      throw unsupportedType(`unsupported content type ${JSON.stringify(type)}: send application/x-ndjson or a JSON array`);
    }
    // No useful type: the first non-blank byte says which.
    const it = body[Symbol.asyncIterator]();
    let first: Uint8Array = new Uint8Array(0);
    for (;;) {
      const { done, value } = await it.next();
      if (done) break;
      first = Buffer.concat([first, value]);
      if (first.some((b) => b !== 32 && b !== 9 && b !== 10 && b !== 13)) break;
    }
    const lead = first.find((b) => b !== 32 && b !== 9 && b !== 10 && b !== 13);
    const stream = withFirst(first, it);
    return lead === 0x5b ? await readArray(stream) : await readNdjson(stream);
  } finally {
    body.drop();
  }
}

async function readOutcome(request: Request, timeoutMs: number): Promise<unknown> {
  const body = await readJsonObject(request, { maxBytes: SETTLE_BYTES, timeoutMs }, "outcome");
  const outcome = body.outcome;
  if (outcome === undefined) throw invalid("outcome: missing (0 or 1)");
  return outcome;
}

export const liveRoutes = (deps: LiveDeps) =>
  new Elysia({ name: "live" })
    .post("/api/live/ticks", async ({ request }) => {
      const { ticks, lines } = await readTicks(request, deps);
      const r = await deps.live.ingest(ticks as never, lines);
      return { ticks: r.ticks, games: r.games, signals: r.signals.length };
    }, { parse: "none", detail: doc({
      summary: "Ingest live ticks (NDJSON, streamed or not, or a JSON array)", tag: "live",
      body: { "application/x-ndjson": t.String({ description: "one tick a line" }), "application/json": t.Array(Tick) },
      responses: { 200: json(TicksAnswer), 413: "too large", 415: "an unsupported content type", 422: "line L: a bad tick" },
    }) })
    .post("/api/live/games/:id/settle", async ({ request, params }) => {
      const id = gameIdParam(params.id, "id");
      const outcome = await readOutcome(request, deps.bodyTimeoutMs);
      const r = await deps.live.settle(id, outcome);
      return { game_id: r.game_id, ticks: r.ticks, signals: r.signals.length };
    }, { parse: "none", detail: doc({
      summary: "Settle a live game with its outcome", tag: "live", params: { id: "the live game's id" },
      body: { "application/json": t.Object({ outcome: t.Union([t.Literal(0), t.Literal(1)]) }) },
      responses: { 200: json(SettleAnswer), 404: "no such live game", 422: "a missing or bad outcome" },
    }) })
    .get("/api/live/games", async ({ request }) => ({ games: await deps.live.liveGames(identityOf(request)) }), { detail: doc({
      summary: "The live games (a starter token sees them late)", tag: "live", responses: { 200: json(LiveGames) },
    }) });
