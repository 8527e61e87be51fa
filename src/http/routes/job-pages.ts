// The job page and its fragments: the page, the live fragment (what the socket sends, for the
// fallback poll), the results fragment, the downloads, cancel, and a simulation from a form.
// Forms work without scripts: they post and get a 303 to the job page.
import { Elysia } from "elysia";
import { t } from "elysia";
import { csv, doc, html, json, redirectTo } from "../openapi";
import { Form, GridResults, SimulationResults } from "./schemas";
import { ParamError, validateSimulationParams } from "../../compute/grid";
import { simulationPlan } from "../../jobs/plan";
import type { Database } from "../../db/database";
import { gameIdsInOrder } from "../../games/repository";
import { isJobId } from "../../jobs/ids";
import { checkMayCancel, creatorOf } from "../../jobs/ownership";
import * as repo from "../../jobs/repository";
import { allResults, resultsStream, type Figures, type PairResult } from "../../jobs/results";
import type { JobScheduler } from "../../jobs/scheduler";
import type { JobClock } from "../../page-fragments/job-clock";
import { jobLiveView, jobStateOf } from "../../page-fragments/views";
import { jobLiveFragment, jobPage } from "../../../views/pages/job";
import { gridResults, gridResultsCsv, simulationResults, simulationResultsCsv } from "../../../views/pages/results";
import { invalid, notFound, wrongState } from "../../errors";
import { FORM_BYTES, readText } from "../body";
import { identityOf } from "../request-identity";
import type { Identity } from "../../access/roles";
import { htmlResponse, isHtmx } from "../respond";

export interface JobPagesDeps {
  version: string;
  database: () => Database;
  scheduler: JobScheduler;
  clock: JobClock;
  now?: () => number;
  /** Most time a request body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs: number;
}

const JOB = { id: "the job's request_id" };
const seeOther = (location: string) => new Response(null, { status: 303, headers: { location } });

/** Whether the page offers the cancel button: the same rule the POST enforces. */
function mayCancel(viewer: Identity | null, row: repo.JobRow): boolean {
  try {
    checkMayCancel(viewer, row);
    return true;
  } catch {
    return false;
  }
}

export function jobPagesRoutes(deps: JobPagesDeps) {
  const now = deps.now ?? (() => Date.now());

  async function jobRow(id: string) {
    if (!isJobId(id)) throw notFound("No job with this id"); // malformed: never a job's, and kept from the store
    const row = await repo.getJob(deps.database(), id);
    if (!row) throw notFound("No job with this id");
    deps.clock.seed(id, row.startedAt, row.finishedAt);
    return row;
  }

  async function liveOf(id: string) {
    const row = await jobRow(id);
    return { row, live: jobLiveView(id, jobStateOf(row, deps.scheduler.snapshot(id)), deps.clock, now()) };
  }

  function complete(row: repo.JobRow) {
    if (row.state !== "complete") throw wrongState(`the job is ${row.state}; results are available once it is complete`);
    return row;
  }

  async function resultsFragment(row: repo.JobRow, viewer: Identity | null) {
    const all = await allResults(deps.database(), complete(row));
    const plan = repo.planOf(row);
    if (all.kind === "grid") {
      const summary = row.summary as { final_selection?: PairResult | null } | null;
      return gridResults({ id: row.id, games: row.gameIds.length, pairs: all.pairs, finalSelection: summary?.final_selection ?? null, fee: plan.params.fee, viewer });
    }
    const { entry, exit } = plan.params as { entry: number; exit: number };
    const total = (row.summary as { total?: Figures } | null)?.total ?? { pnl: 0, trades: 0, wins: 0 };
    return simulationResults({ id: row.id, entry, exit, games: all.games, total });
  }

  /** The downloads stream through the same code as the API's results. */
  const download = (id: string, body: ReadableStream<Uint8Array>, type: string, ext: string) =>
    new Response(body, { headers: { "content-type": type, "content-disposition": `attachment; filename="${id}.${ext}"` } });

  return new Elysia({ name: "job-pages" })
    .get("/jobs/:id", async ({ params: { id }, request }) => {
      const { row, live } = await liveOf(id);
      const viewer = identityOf(request);
      return htmlResponse(jobPage(deps.version, viewer, {
        live, kind: row.kind, params: { ...repo.planOf(row).params }, games: row.gameIds.length, createdAt: row.createdAt,
        results: row.state === "complete" ? await resultsFragment(row, viewer) : undefined,
        canCancel: mayCancel(viewer, row),
      }));
    }, { detail: doc({ summary: "A job's page: progress, then results", tag: "pages", params: JOB, responses: { 200: html("the page"), 404: "No job with this id" } }) })
    .get("/jobs/:id/live", async ({ params: { id } }) => htmlResponse(jobLiveFragment((await liveOf(id)).live)), { detail: doc({
      summary: "A job's live part, for the fallback poll", tag: "pages", params: JOB, responses: { 200: html("a fragment"), 404: "No job with this id" },
    }) })
    .get("/jobs/:id/results", async ({ params: { id }, request }) => htmlResponse(await resultsFragment(await jobRow(id), identityOf(request))), { detail: doc({
      summary: "A complete job's results table", tag: "pages", params: JOB, responses: { 200: html("a fragment"), 404: "No job with this id", 409: "not complete yet" },
    }) })
    .get("/jobs/:id/results.json", async ({ params: { id } }) => {
      const row = complete(await jobRow(id));
      return download(id, resultsStream(deps.database(), row, "json"), "application/json", "json");
    }, { detail: doc({
      summary: "Download a complete job's results as JSON (the API's document)", tag: "pages", params: JOB,
      responses: { 200: json(t.Union([GridResults, SimulationResults]), "an attachment, streamed"), 404: "No job with this id", 409: "not complete yet" },
    }) })
    .get("/jobs/:id/results.csv", async ({ params: { id } }) => {
      const row = complete(await jobRow(id));
      const csv = { grid: gridResultsCsv, simulation: simulationResultsCsv };
      return download(id, resultsStream(deps.database(), row, { csv }), "text/csv; charset=utf-8", "csv");
    }, { detail: doc({
      summary: "Download a complete job's results as CSV", tag: "pages", params: JOB,
      responses: { 200: csv("an attachment, streamed: a row per pair (grid) or per game (simulation)"), 404: "No job with this id", 409: "not complete yet" },
    }) })
    .post("/jobs/:id/cancel", async ({ params: { id }, request }) => {
      checkMayCancel(identityOf(request), await jobRow(id));
      await deps.scheduler.cancel(id); // already finished: nothing to do, the page shows the final state
      if (!isHtmx(request)) return seeOther(`/jobs/${encodeURIComponent(id)}`);
      return htmlResponse(jobLiveFragment((await liveOf(id)).live));
    }, { detail: doc({
      summary: "Cancel a job from its page", tag: "pages", params: JOB,
      responses: { 200: html("htmx: the job's live part"), 303: redirectTo("to the job's page"), 404: "No job with this id" },
    }) })
    .post("/simulation", async ({ request }) => {
      const form = new URLSearchParams(await readText(request, { maxBytes: FORM_BYTES, timeoutMs: deps.bodyTimeoutMs }));
      let p;
      try {
        p = validateSimulationParams(Object.fromEntries(form));
      } catch (err) {
        if (err instanceof ParamError) throw invalid(err.message);
        throw err;
      }
      const { ids } = await gameIdsInOrder(deps.database());
      if (ids.length === 0) throw invalid("games: no games stored; import games first (or load the demo data)");
      const id = await deps.scheduler.submit(simulationPlan(p, ids.length), ids, creatorOf(identityOf(request)));
      return seeOther(`/jobs/${encodeURIComponent(id)}`);
    }, { parse: "none", detail: doc({
      summary: "Start a simulation from a form", tag: "pages",
      body: { "application/x-www-form-urlencoded": Form({ entry: "entry threshold", exit: "exit threshold", fee: "fee per trade" }) },
      responses: { 303: redirectTo("to the job's page"), 422: "bad parameters, or no games stored" },
    }) });
}
