// Games and the data update over HTTP: import (raw CSV/NDJSON or multipart), list, export,
// delete, demo data, and the update endpoints of protocol.md. Every import goes through the
// UpdateService, so there is one import path and one import at a time.
import { Elysia } from "elysia";
import type { Database } from "../../db/database";
import { demoCsv, DEMO_LIMITS } from "../../games/demo";
import { detectFormat, type GameFormat } from "../../games/parse";
import { deleteGame, exportCsv, listGames } from "../../games/repository";
import type { UpdateService, UploadMeta } from "../../games/update";
import { invalid, notFound, tooLarge, unsupportedType } from "../../errors";
import { multipartFile } from "../multipart";

export interface GamesDeps {
  database: () => Database;
  updates: UpdateService;
  maxImportBytes: number;
}

const FORMATS = "send text/csv, application/x-ndjson, or multipart/form-data with a file field";

function intParam(value: unknown, name: string, def: number, min: number, max: number): number {
  if (value === undefined || value === "") return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(`${name}: must be an integer from ${min} to ${max}`);
  return n;
}

function hasBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  return (length !== null && length !== "0") || request.headers.has("transfer-encoding");
}

/** Reads the request's file (raw body or multipart `file`) and imports it (an ImportError is a DomainError: the error path answers it). */
async function importRequest(request: Request, deps: GamesDeps, source: string, synthetic = false) {
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > deps.maxImportBytes) throw tooLarge(`line 1: file larger than ${deps.maxImportBytes} bytes`);
  const type = request.headers.get("content-type") ?? "";
  let stream: AsyncIterable<Uint8Array>;
  let format: GameFormat | null;
  let fileName: string | undefined;
  if (type.toLowerCase().startsWith("multipart/form-data")) {
    const file = await multipartFile(request);
    stream = file.stream;
    fileName = file.filename;
    format = detectFormat(file.mimeType) ?? detectFormat(file.filename) ?? "csv";
  } else {
    format = type ? detectFormat(type) : null;
    if (!format) throw unsupportedType(`unsupported content type ${JSON.stringify(type || "(none)")}: ${FORMATS}`);
    if (!request.body) throw invalid("line 1: empty file");
    stream = request.body as unknown as AsyncIterable<Uint8Array>;
  }
  const meta: UploadMeta = { source, fileName, format, totalBytes: length || undefined, synthetic };
  return deps.updates.importStream(stream, meta);
}

export const gamesRoutes = (deps: GamesDeps) =>
  new Elysia({ name: "games" })
    .post("/api/games/import", ({ request }) => importRequest(request, deps, "api"), { parse: "none" })
    .get("/api/games", async ({ query }) => {
      const page = intParam(query.page, "page", 1, 1, 1_000_000);
      const perPage = intParam(query.per_page, "per_page", 50, 1, 1000);
      const { games, total } = await listGames(deps.database(), page, perPage);
      return { games, total, page, per_page: perPage };
    })
    .get("/api/games/export.csv", () => new Response(exportCsv(deps.database()), {
      headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="games.csv"' },
    }))
    .delete("/api/games/:id", async ({ params, set }) => {
      if (!(await deleteGame(deps.database(), params.id))) throw notFound("Game not found");
      set.status = 204;
      return "";
    })
    .post("/api/games/demo", async ({ query }) => {
      const games = intParam(query.games, "games", 200, 1, DEMO_LIMITS.maxGames);
      const seed = intParam(query.seed, "seed", 1, 0, 2 ** 32 - 1);
      return deps.updates.importStream(demoCsv({ games, seed }), { source: "demo", format: "csv", synthetic: true });
    })
    .post("/api/update", async ({ request, set }) => {
      if (hasBody(request)) return importRequest(request, deps, "update");
      const files = await deps.updates.startInbox();
      set.status = files.length ? 202 : 200;
      return { message: files.length ? "Update started" : "No new files in the inbox", files };
    }, { parse: "none" })
    .get("/api/update/status", () => deps.updates.status());
