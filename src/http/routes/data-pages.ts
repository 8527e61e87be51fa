// The data page: games (paged), the import form (multipart, through the same UpdateService as
// the API, so one import path and one import at a time), the update status fragment for the
// fallback poll, and demo data without scripts. Forms answer 303 to /data without scripts.
import { Elysia } from "elysia";
import { t } from "elysia";
import { Int } from "./schemas";
import { doc, html, redirectTo } from "../openapi";
import type { Database } from "../../db/database";
import { demoCsv } from "../../games/demo";
import { listGames } from "../../games/repository";
import type { UpdateService } from "../../games/update";
import { dataPage, gamesTable, importNotice, updateStatusFragment, type ImportNotice } from "../../../views/pages/data";
import { DomainError } from "../../errors";
import { statusOf } from "../errors";
import { withUpload } from "../upload";
import { htmlResponse, isHtmx } from "../respond";
import { identityOf } from "../request-identity";

export interface DataPagesDeps {
  version: string;
  database: () => Database;
  updates: UpdateService;
  maxImportBytes: number;
  bodyTimeoutMs: number;
}

const PER_PAGE = 50;
const seeOther = (location: string) => new Response(null, { status: 303, headers: { location } });
/** Outcomes kept for the redirect after a form post without scripts (a few per recent upload). */
const KEPT_NOTICES = 64;

/**
 * What an import from the page answered, kept on the server under an id nobody can guess: the
 * redirect names the id, so /data shows only what this server said, never text from a link.
 */
class Notices {
  private readonly kept = new Map<string, ImportNotice>();

  keep(notice: ImportNotice): string {
    const id = crypto.randomUUID();
    this.kept.set(id, notice);
    if (this.kept.size > KEPT_NOTICES) this.kept.delete(this.kept.keys().next().value!);
    return id;
  }

  get(id: unknown): ImportNotice | undefined {
    return typeof id === "string" ? this.kept.get(id) : undefined;
  }
}

function pageOf(value: unknown): number {
  const n = Number(value ?? 1);
  return Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : 1;
}

export function dataPagesRoutes(deps: DataPagesDeps) {
  async function games(page: number) {
    const { games, total } = await listGames(deps.database(), page, PER_PAGE);
    return { games, total, page, perPage: PER_PAGE };
  }

  const notices = new Notices();

  /** The notice to show and the status it answers with (a refusal keeps its own: 408, 413, 422...). */
  async function importUpload(request: Request): Promise<{ notice: ImportNotice; status: number }> {
    try {
      return await withUpload(request, deps, async (file) => {
        const r = await deps.updates.importStream(file.stream, { source: "page", fileName: file.fileName, format: file.format });
        const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
        return { notice: { ok: true, message: `Imported ${plural(r.games, "game")} (${plural(r.ticks, "tick")}) from ${file.fileName ?? "the upload"}.` }, status: 200 };
      });
    } catch (err) {
      if (err instanceof DomainError) return { notice: { ok: false, message: err.message }, status: statusOf(err.code) };
      throw err;
    }
  }

  return new Elysia({ name: "data-pages" })
    .get("/data", async ({ query, request }) => {
      return htmlResponse(dataPage(deps.version, identityOf(request), await games(pageOf(query.page)), deps.updates.status(), notices.get(query.notice)));
    }, { detail: doc({
      summary: "The data page: games, the import form, the update status", tag: "pages",
      query: { page: Int({ minimum: 1 }), notice: t.String({ description: "the id of an import's outcome to show" }) }, responses: { 200: html("the page") },
    }) })
    .get("/data/games", async ({ query, request }) => htmlResponse(gamesTable(await games(pageOf(query.page)), identityOf(request))), { detail: doc({
      summary: "A page of the games table", tag: "pages", query: { page: Int({ minimum: 1 }) }, responses: { 200: html("a fragment") },
    }) })
    .get("/data/status", () => htmlResponse(updateStatusFragment(deps.updates.status())), { detail: doc({
      summary: "The update status, for the fallback poll", tag: "pages", responses: { 200: html("a fragment") },
    }) })
    .post("/data/import", async ({ request }) => {
      const { notice, status } = await importUpload(request);
      if (isHtmx(request)) return htmlResponse(importNotice(notice), status);
      return seeOther(`/data?notice=${notices.keep(notice)}`);
    }, { parse: "none", detail: doc({
      summary: "Import a file from the page's form", tag: "pages", body: { "multipart/form-data": t.Object({ file: t.String({ format: "binary" }) }) },
      responses: { 200: html("htmx: what the import did"), 303: redirectTo("to /data, showing what the import did") },
    }) })
    .post("/data/demo", async () => {
      // The same call as POST /api/games/demo with its defaults, for a browser without scripts.
      await deps.updates.importStream(demoCsv({ games: 200, seed: 1 }), { source: "demo", format: "csv", synthetic: true });
      return seeOther("/data");
    }, { detail: doc({ summary: "Load the demo data from the page", tag: "pages", responses: { 303: redirectTo("to /data") } }) });
}
