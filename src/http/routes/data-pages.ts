// The data page: games (paged), the import form (multipart, through the same UpdateService as
// the API, so one import path and one import at a time), the update status fragment for the
// fallback poll, and demo data without scripts. Forms answer 303 to /data without scripts.
import { Elysia } from "elysia";
import type { Database } from "../../db/database";
import { demoCsv } from "../../games/demo";
import { detectFormat } from "../../games/parse";
import { listGames } from "../../games/repository";
import type { UpdateService } from "../../games/update";
import { dataPage, gamesTable, importNotice, updateStatusFragment, type ImportNotice } from "../../../views/pages/data";
import { DomainError, tooLarge } from "../../errors";
import { multipartFile } from "../multipart";
import { htmlResponse, isHtmx } from "../respond";

export interface DataPagesDeps {
  version: string;
  database: () => Database;
  updates: UpdateService;
  maxImportBytes: number;
}

const PER_PAGE = 50;
const seeOther = (location: string) => new Response(null, { status: 303, headers: { location } });

function pageOf(value: unknown): number {
  const n = Number(value ?? 1);
  return Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : 1;
}

export function dataPagesRoutes(deps: DataPagesDeps) {
  async function games(page: number) {
    const { games, total } = await listGames(deps.database(), page, PER_PAGE);
    return { games, total, page, perPage: PER_PAGE };
  }

  async function importUpload(request: Request): Promise<ImportNotice> {
    if (Number(request.headers.get("content-length") ?? 0) > deps.maxImportBytes) throw tooLarge(`file larger than ${deps.maxImportBytes} bytes`);
    try {
      const file = await multipartFile(request);
      const format = detectFormat(file.mimeType) ?? detectFormat(file.filename) ?? "csv";
      const r = await deps.updates.importStream(file.stream, { source: "page", fileName: file.filename, format });
      const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
      return { ok: true, message: `Imported ${plural(r.games, "game")} (${plural(r.ticks, "tick")}) from ${file.filename}.` };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, message: err.message };
      throw err;
    }
  }

  return new Elysia({ name: "data-pages" })
    .get("/data", async ({ query }) => {
      const notice = typeof query.imported === "string" ? { ok: true, message: query.imported } : typeof query.failed === "string" ? { ok: false, message: query.failed } : undefined;
      return htmlResponse(dataPage(deps.version, await games(pageOf(query.page)), deps.updates.status(), notice));
    })
    .get("/data/games", async ({ query }) => htmlResponse(gamesTable(await games(pageOf(query.page)))))
    .get("/data/status", () => htmlResponse(updateStatusFragment(deps.updates.status())))
    .post("/data/import", async ({ request }) => {
      const notice = await importUpload(request);
      if (isHtmx(request)) return htmlResponse(importNotice(notice), notice.ok ? 200 : 422);
      return seeOther(`/data?${notice.ok ? "imported" : "failed"}=${encodeURIComponent(notice.message)}`);
    }, { parse: "none" })
    .post("/data/demo", async () => {
      // The same call as POST /api/games/demo with its defaults, for a browser without scripts.
      await deps.updates.importStream(demoCsv({ games: 200, seed: 1 }), { source: "demo", format: "csv", synthetic: true });
      return seeOther("/data");
    });
}
