// Games and the data update over HTTP: import (raw CSV/NDJSON or multipart), list, export,
// delete, demo data, and the update endpoints of protocol.md. Every import goes through the
// UpdateService, so there is one import path and one import at a time.
import { Elysia } from "elysia";
import { t } from "elysia";
import { csv, doc, json } from "../openapi";
import { GamesPage, ImportResult, Int, UpdateStarted, UpdateStatus } from "./schemas";
import type { Database } from "../../db/database";
import { demoCsv, DEMO_LIMITS } from "../../games/demo";
import { deleteGame, exportCsv, listGames } from "../../games/repository";
import type { UpdateService } from "../../games/update";
import { notFound } from "../../errors";
import { gameIdParam, intParam } from "../params";
import { withUpload } from "../upload";

export interface GamesDeps {
  database: () => Database;
  updates: UpdateService;
  maxImportBytes: number;
  /** Most time a request body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs: number;
}

function hasBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  return (length !== null && length !== "0") || request.headers.has("transfer-encoding");
}

/** Reads the request's file (raw body or multipart `file`) and imports it (an ImportError is a DomainError: the error path answers it). */
function importRequest(request: Request, deps: GamesDeps, source: string) {
  return withUpload(request, deps, (upload) => deps.updates.importStream(upload.stream, {
    source, fileName: upload.fileName, format: upload.format, totalBytes: upload.totalBytes || undefined,
  }));
}

export const gamesRoutes = (deps: GamesDeps) =>
  new Elysia({ name: "games" })
    .post("/api/games/import", ({ request }) => importRequest(request, deps, "api"), { parse: "none", detail: doc({
      summary: "Import games from a CSV or NDJSON file", tag: "games",
      description: "The raw file as the body (Content-Type text/csv or application/x-ndjson), or a multipart upload with a `file` field. One import at a time; a bad file stores nothing.",
      body: { "text/csv": t.String(), "application/x-ndjson": t.String(), "multipart/form-data": t.Object({ file: t.String({ format: "binary" }) }) },
      responses: { 200: json(ImportResult, "stored"), 408: "the body did not arrive within --body-timeout-ms", 409: "other updates are being read", 413: "larger than --max-import-bytes", 422: "a bad file: line L and the reason" },
    }) })
    .get("/api/games", async ({ query }) => {
      const page = intParam(query.page, "page", { def: 1, min: 1, max: 1_000_000 });
      const perPage = intParam(query.per_page, "per_page", { def: 50, min: 1, max: 1000 });
      const { games, total } = await listGames(deps.database(), page, perPage);
      return { games, total, page, per_page: perPage };
    }, { detail: doc({
      summary: "The stored games, a page at a time", tag: "games",
      query: { page: Int({ minimum: 1, default: 1 }), per_page: Int({ minimum: 1, maximum: 1000, default: 50 }) },
      responses: { 200: json(GamesPage), 422: "page or per_page out of range" },
    }) })
    .get("/api/games/export.csv", () => new Response(exportCsv(deps.database()), {
      headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="games.csv"' },
    }), { detail: doc({
      summary: "Every stored tick as CSV (the import's format), streamed", tag: "games",
      responses: { 200: csv("game_id,t,price,fair,outcome rows, streamed from the store") },
    }) })
    .delete("/api/games/:id", async ({ params, set }) => {
      if (!(await deleteGame(deps.database(), gameIdParam(params.id, "id")))) throw notFound("Game not found");
      set.status = 204;
      return "";
    }, { detail: doc({
      summary: "Delete a game and its ticks", tag: "games", params: { id: "the game's id" },
      responses: { 204: "deleted", 404: "Game not found", 422: "no game can have this id" },
    }) })
    .post("/api/games/demo", async ({ query }) => {
      const games = intParam(query.games, "games", { def: 200, min: 1, max: DEMO_LIMITS.maxGames });
      const seed = intParam(query.seed, "seed", { def: 1, min: 0, max: 2 ** 32 - 1 });
      return deps.updates.importStream(demoCsv({ games, seed }), { source: "demo", format: "csv", synthetic: true });
    }, { detail: doc({
      summary: "Load synthetic demo games", tag: "games",
      query: { games: Int({ minimum: 1, default: 200 }), seed: Int({ minimum: 0, default: 1 }) },
      responses: { 200: json(ImportResult, "stored"), 422: "games or seed out of range" },
    }) })
    .post("/api/update", async ({ request, set }) => {
      if (hasBody(request)) return importRequest(request, deps, "update");
      const files = await deps.updates.startInbox();
      set.status = files.length ? 202 : 200;
      return { message: files.length ? "Update started" : "No new files in the inbox", files };
    }, { parse: "none", detail: doc({
      summary: "Start a data update: a file in the body, or the inbox's new files", tag: "update",
      description: "With a body: the same as POST /api/games/import. Without: imports the new files of the data dir's inbox in the background (202).",
      body: { optional: true, content: { "text/csv": t.String(), "application/x-ndjson": t.String(), "multipart/form-data": t.Object({ file: t.String({ format: "binary" }) }) } },
      responses: { 200: json(t.Union([ImportResult, UpdateStarted]), "the body's file stored, or no new file in the inbox"), 202: json(UpdateStarted, "the inbox's files are being imported"), 409: "other updates are being read", 413: "too large", 422: "a bad file" },
    }) })
    .get("/api/update/status", () => deps.updates.status(), { detail: doc({
      summary: "Whether a data update is running, and the last one's outcome", tag: "update", responses: { 200: json(UpdateStatus) },
    }) });
