// The dashboard and the new grid search form: the pages, the dashboard's fallback fragment, the
// form's live preview (pairs and work, inline errors) and its plain POST (303 to the job page).
// Mounted by src/http/routes/index.ts, with the jobs and games they show.
import { Elysia } from "elysia";
import { doc, html, redirectTo } from "../openapi";
import { Form } from "./schemas";
import { countPairs, ParamError, validateGridParams, type GridParams } from "../../compute/grid";
import type { Database } from "../../db/database";
import { gameIdsInOrder, listGames } from "../../games/repository";
import { gridPlan } from "../../jobs/plan";
import type { JobScheduler } from "../../jobs/scheduler";
import { creatorOf } from "../../jobs/ownership";
import { identityOf } from "../request-identity";
import type { DashboardFeed } from "../../page-fragments/dashboard-feed";
import type { JobClock } from "../../page-fragments/job-clock";
import { dashboardView } from "../../page-fragments/render";
import { dashboardFragment, dashboardPage } from "../../../views/pages/dashboard";
import { GRID_FIELDS, gridFormPage, previewFragment, type GridFormView, type PreviewView } from "../../../views/pages/grid-form";
import { FORM_BYTES, readText } from "../body";
import { htmlResponse } from "../respond";

export interface DashboardRoutesDeps {
  version: string;
  database: () => Database;
  scheduler: JobScheduler;
  feed: DashboardFeed;
  clock: JobClock;
  maxPairs: number;
  now: () => number;
  /** Most time a request body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs: number;
}

/** The form's fields, as the page names and explains them. */
const GRID_FORM = Form(Object.fromEntries(GRID_FIELDS.map((f) => [f.name, f.hint])));
const DEFAULTS: Record<string, string> = Object.fromEntries(GRID_FIELDS.map((f) => [f.name, f.def]));
const seeOther = (location: string) => new Response(null, { status: 303, headers: { location } });

async function formValues(request: Request, timeoutMs: number): Promise<Record<string, string>> {
  const form = new URLSearchParams(await readText(request, { maxBytes: FORM_BYTES, timeoutMs }));
  const out: Record<string, string> = {};
  for (const f of GRID_FIELDS) {
    const v = form.get(f.name);
    if (v !== null) out[f.name] = v.trim();
  }
  return out;
}

/** Checks the form with the API's own rules; a ParamError lands next to the field it names. */
function check(values: Record<string, string>, maxPairs: number): { params?: GridParams; errors: Record<string, string> } {
  try {
    return { params: validateGridParams(values, maxPairs), errors: {} };
  } catch (err) {
    if (!(err instanceof ParamError)) throw err;
    const known = GRID_FIELDS.some((f) => f.name === err.field);
    return { errors: { [known ? err.field : "grid"]: known ? err.message.slice(err.field.length + 2) : err.message } };
  }
}

export function dashboardRoutes(deps: DashboardRoutesDeps) {
  async function view() {
    // The jobs come from the database on the first view; the health line needs no database.
    await deps.feed.ensureLoaded().catch(() => {});
    deps.feed.watch();
    return dashboardView(deps.feed.state(), deps.clock, deps.now());
  }

  async function preview(values: Record<string, string>): Promise<GridFormView> {
    const { params, errors } = check(values, deps.maxPairs);
    let p: PreviewView | undefined;
    if (params) {
      const { total } = await listGames(deps.database(), 1, 1);
      const pairs = countPairs(params);
      p = total > 0 ? { ok: true, pairs, games: total, work: pairs * total } : { ok: false, message: "No games stored: load some on the Data page first." };
    } else if (errors.grid) {
      p = { ok: false, message: errors.grid };
    } else {
      p = { ok: false, message: "Fix the marked field." };
    }
    return { values, errors, preview: p };
  }

  return new Elysia({ name: "dashboard-pages" })
    .get("/", async ({ request }) => {
      const form = await preview(DEFAULTS).catch(() => ({ values: {}, errors: {} }));
      return htmlResponse(dashboardPage(deps.version, identityOf(request), await view(), form));
    }, { detail: doc({ summary: "The dashboard: jobs, health and the new grid search form", tag: "pages", responses: { 200: html("the page") } }) })
    .get("/pages/dashboard", async () => htmlResponse(dashboardFragment(await view())), { detail: doc({
      summary: "The dashboard's live part, for the fallback poll", tag: "pages", responses: { 200: html("a fragment") },
    }) })
    .get("/grid-search/new", async ({ request }) => {
      const form = await preview(DEFAULTS).catch(() => ({ values: {}, errors: {} }));
      return htmlResponse(gridFormPage(deps.version, identityOf(request), form));
    }, { detail: doc({ summary: "The new grid search form", tag: "pages", responses: { 200: html("the page") } }) })
    .post("/grid-search/preview", async ({ request }) => htmlResponse(previewFragment(await preview(await formValues(request, deps.bodyTimeoutMs)))), { parse: "none", detail: doc({
      summary: "The form's live preview: pairs and work, or what is wrong (changes nothing)", tag: "pages",
      body: { "application/x-www-form-urlencoded": GRID_FORM }, responses: { 200: html("a fragment") },
    }) })
    .post("/grid-search", async ({ request }) => {
      const values = await formValues(request, deps.bodyTimeoutMs);
      const { params } = check(values, deps.maxPairs);
      if (!params) return htmlResponse(gridFormPage(deps.version, identityOf(request), await preview(values)), 422);
      const { ids } = await gameIdsInOrder(deps.database());
      if (ids.length === 0) {
        return htmlResponse(gridFormPage(deps.version, identityOf(request), { values, errors: { games: "No games stored: import games or load the demo data on the Data page first." } }), 422);
      }
      const id = await deps.scheduler.submit(gridPlan(params, ids.length), ids, creatorOf(identityOf(request)));
      return seeOther(`/jobs/${encodeURIComponent(id)}`);
    }, { parse: "none", detail: doc({
      summary: "Start a grid search from the form", tag: "pages", body: { "application/x-www-form-urlencoded": GRID_FORM },
      responses: { 303: redirectTo("to the job's page"), 422: html("the form again, the bad field marked") },
    }) });
}
