// Games and the data update over HTTP: import (raw CSV/NDJSON or multipart), list, export,
// delete, demo data, and the update endpoints of protocol.md. Every import goes through the
// UpdateService, so there is one import path and one import at a time.
import { Elysia } from "elysia";
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
    .post("/api/games/import", ({ request }) => importRequest(request, deps, "api"), { parse: "none" })
    .get("/api/games", async ({ query }) => {
      const page = intParam(query.page, "page", { def: 1, min: 1, max: 1_000_000 });
      const perPage = intParam(query.per_page, "per_page", { def: 50, min: 1, max: 1000 });
      const { games, total } = await listGames(deps.database(), page, perPage);
      return { games, total, page, per_page: perPage };
    })
    .get("/api/games/export.csv", () => new Response(exportCsv(deps.database()), {
      headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="games.csv"' },
    }))
    .delete("/api/games/:id", async ({ params, set }) => {
      if (!(await deleteGame(deps.database(), gameIdParam(params.id, "id")))) throw notFound("Game not found");
      set.status = 204;
      return "";
    })
    .post("/api/games/demo", async ({ query }) => {
      const games = intParam(query.games, "games", { def: 200, min: 1, max: DEMO_LIMITS.maxGames });
      const seed = intParam(query.seed, "seed", { def: 1, min: 0, max: 2 ** 32 - 1 });
      return deps.updates.importStream(demoCsv({ games, seed }), { source: "demo", format: "csv", synthetic: true });
    })
    .post("/api/update", async ({ request, set }) => {
      if (hasBody(request)) return importRequest(request, deps, "update");
      const files = await deps.updates.startInbox();
      set.status = files.length ? 202 : 200;
      return { message: files.length ? "Update started" : "No new files in the inbox", files };
    }, { parse: "none" })
    .get("/api/update/status", () => deps.updates.status());
