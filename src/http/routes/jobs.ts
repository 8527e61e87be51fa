// Grid searches, simulations and jobs over HTTP (protocol.md "Job progress"): run, progress,
// results, cancel and the job list. Parameters come as a JSON body or a query string.
import { Elysia } from "elysia";
import { ParamError, validateGridParams, validateSimulationParams } from "../../compute/grid";
import { gridPlan, simulationPlan } from "../../jobs/plan";
import { snapshotOf, type JobKind } from "../../jobs/states";
import type { Database } from "../../db/database";
import { gameIdsInOrder } from "../../games/repository";
import * as repo from "../../jobs/repository";
import { resultsStream } from "../../jobs/results";
import type { JobScheduler, JobSnapshot } from "../../jobs/scheduler";
import { isJobId } from "../../jobs/ids";
import { checkMayCancel, creatorOf } from "../../jobs/ownership";
import { identityOf } from "../request-identity";
import { invalid, malformed, notFound, wrongState } from "../../errors";
import { readText } from "../body";
import { gameIdParam, intParam } from "../params";
import { doc, json } from "../openapi";
import { CancelAnswer, GridParams, GridResults, Int, JobList, JobProgress, RequestId, SimulationParams, SimulationProgress, SimulationResults, queryOf } from "./schemas";

export interface JobsDeps {
  database: () => Database;
  scheduler: JobScheduler;
  maxPairs: number;
  /** Most time a request body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs: number;
}

const MAX_GAME_FILTER = 100_000;
/** Parameters are small; a game filter of many ids is the only large part. */
const MAX_PARAMS_BYTES = 4 * 1024 * 1024;

/** JSON body (object) or query string; a body that is not a JSON object is a 400. */
async function readParams(request: Request, query: Record<string, string | undefined>, timeoutMs: number): Promise<Record<string, unknown>> {
  const type = request.headers.get("content-type") ?? "";
  const text = await readText(request, { maxBytes: MAX_PARAMS_BYTES, timeoutMs });
  if (text.trim() === "") return { ...query };
  if (!type.includes("json") && type !== "") throw invalid(`unsupported content type ${JSON.stringify(type)}: send JSON or a query string`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw malformed("malformed request body (expected valid JSON)");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("body: must be a JSON object of parameters");
  return { ...query, ...(body as Record<string, unknown>) };
}

/** The job's games in game order: all stored games, or the named ones (each must exist). */
async function resolveGames(database: Database, raw: unknown): Promise<string[]> {
  let only: string[] | undefined;
  if (raw !== undefined && raw !== null && raw !== "") {
    const list = typeof raw === "string" ? raw.split(",").map((s) => s.trim()).filter(Boolean) : raw;
    if (!Array.isArray(list) || !list.every((g) => typeof g === "string")) throw invalid("games: must be a list of game ids (strings)");
    if (list.length === 0) throw invalid("games: must name at least one game id (leave it out for all games)");
    if (list.length > MAX_GAME_FILTER) throw invalid(`games: at most ${MAX_GAME_FILTER} ids`);
    // The import's id rule: an id it would refuse names no stored game, and NUL or a lone
    // surrogate must not reach the store at all.
    only = [...new Set(list.map((g) => gameIdParam(g, "games")))];
  }
  const { ids, unknown } = await gameIdsInOrder(database, only);
  if (unknown.length) throw invalid(`games: unknown game id ${JSON.stringify(unknown[0])}${unknown.length > 1 ? ` and ${unknown.length - 1} more` : ""}`);
  if (ids.length === 0) throw invalid("games: no games stored; import games first (or load the demo data)");
  return ids;
}

function params<T>(validate: () => T): T {
  try {
    return validate();
  } catch (err) {
    if (err instanceof ParamError) throw invalid(err.message);
    throw err;
  }
}

async function progressOf(deps: JobsDeps, id: string): Promise<JobSnapshot | undefined> {
  if (!isJobId(id)) return undefined; // never a job's id, and the store must not see it
  const live = deps.scheduler.snapshot(id);
  if (live) return live;
  const row = await repo.getJob(deps.database(), id);
  if (!row) return undefined;
  return snapshotOf(row);
}

async function finishedJob(deps: JobsDeps, id: string, kind: JobKind) {
  if (!isJobId(id)) throw notFound("Request ID not found");
  const row = await repo.getJob(deps.database(), id);
  if (!row || row.kind !== kind) throw notFound("Request ID not found");
  if (row.state !== "complete") {
    throw wrongState(`the job is ${row.state}; results are available once it is complete`, { status: row.state, ...(row.error ? { error: row.error } : {}) });
  }
  return row;
}

/** Results are streamed as they are serialised (a big grid's are tens of MB). */
const jsonStream = (body: ReadableStream<Uint8Array>) => new Response(body, { headers: { "content-type": "application/json" } });

export const jobsRoutes = (deps: JobsDeps) =>
  new Elysia({ name: "jobs" })
    .post("/api/grid-search/run", async ({ request, query }) => {
      const input = await readParams(request, query, deps.bodyTimeoutMs);
      const p = params(() => validateGridParams(input, deps.maxPairs));
      const gameIds = await resolveGames(deps.database(), input.games);
      const id = await deps.scheduler.submit(gridPlan(p, gameIds.length), gameIds, creatorOf(identityOf(request)));
      return { request_id: id };
    }, { parse: "none", detail: doc({
      summary: "Start a grid search", tag: "jobs",
      description: "Parameters as a JSON body or a query string (protocol.md). 422 names the field and the rule it broke; 429 when the queue is full (--max-queued-jobs).",
      query: queryOf(GridParams), body: { optional: true, content: { "application/json": GridParams } },
      responses: { 200: json(RequestId, "the job is queued"), 400: "the body is not valid JSON", 422: "invalid parameters, too many pairs, or an unknown game" },
    }) })
    .post("/api/simulation/run", async ({ request, query }) => {
      const input = await readParams(request, query, deps.bodyTimeoutMs);
      const p = params(() => validateSimulationParams(input));
      const gameIds = await resolveGames(deps.database(), input.games);
      const id = await deps.scheduler.submit(simulationPlan(p, gameIds.length), gameIds, creatorOf(identityOf(request)));
      return { request_id: id };
    }, { parse: "none", detail: doc({
      summary: "Start a simulation of one (entry, exit) pair", tag: "jobs", description: "Parameters as a JSON body or a query string (protocol.md).",
      query: queryOf(SimulationParams), body: { optional: true, content: { "application/json": SimulationParams } },
      responses: { 200: json(RequestId, "the job is queued"), 400: "the body is not valid JSON", 422: "invalid parameters or an unknown game" },
    }) })
    .get("/api/grid-search/progress/:id", async ({ params: { id } }) => {
      const s = await progressOf(deps, id);
      if (!s) throw notFound("Request ID not found");
      return s;
    }, { detail: doc({
      summary: "A grid search's progress", tag: "jobs", params: { id: "the job's request_id" },
      responses: { 200: json(JobProgress), 404: "Request ID not found" },
    }) })
    .get("/api/simulation/progress/:id", async ({ params: { id } }) => {
      // The source system answered 200 with not_found here; its clients rely on it.
      return (await progressOf(deps, id)) ?? { status: "not_found", current: 0, total: 0 };
    }, { detail: doc({
      summary: "A simulation's progress", tag: "jobs", params: { id: "the job's request_id" },
      description: "An unknown id is a 200 with status not_found, as the source system answered.",
      responses: { 200: json(SimulationProgress) },
    }) })
    .get("/api/grid-search/results/:id", async ({ params: { id } }) => {
      const row = await finishedJob(deps, id, "grid_search");
      return jsonStream(resultsStream(deps.database(), row, "json"));
    }, { detail: doc({
      summary: "A complete grid search's results: every pair's figures per split, and the final selection", tag: "jobs", params: { id: "the job's request_id" },
      description: "Streamed as it is serialised (a large grid's are tens of MB; compressed when the client accepts it).",
      responses: { 200: json(GridResults), 404: "Request ID not found", 409: "the job is not complete yet (`status` says where it is)" },
    }) })
    .get("/api/simulation/results/:id", async ({ params: { id } }) => {
      const row = await finishedJob(deps, id, "simulation");
      return jsonStream(resultsStream(deps.database(), row, "json"));
    }, { detail: doc({
      summary: "A complete simulation's results: per game, in game order, with the equity curve", tag: "jobs", params: { id: "the job's request_id" },
      responses: { 200: json(SimulationResults), 404: "Request ID not found", 409: "the job is not complete yet" },
    }) })
    .post("/api/jobs/:id/cancel", async ({ params: { id }, request }) => {
      if (!isJobId(id)) throw notFound("Request ID not found");
      const row = await repo.getJob(deps.database(), id);
      if (!row) throw notFound("Request ID not found");
      checkMayCancel(identityOf(request), row);
      const s = await deps.scheduler.cancel(id);
      if (s) return { request_id: id, status: s.status };
      const now = (await repo.getJob(deps.database(), id)) ?? row;
      throw wrongState(`the job is already ${now.state}`, { status: now.state });
    }, { detail: doc({
      summary: "Cancel a queued or running job", tag: "jobs", params: { id: "the job's request_id" },
      description: "An operator may cancel the jobs they started; an admin any.",
      responses: { 200: json(CancelAnswer), 404: "Request ID not found", 409: "the job has finished already" },
    }) })
    .get("/api/jobs", async ({ query }) => {
      const limit = intParam(query.limit, "limit", { def: 50, min: 1, max: 200 });
      const rows = await repo.recentJobs(deps.database(), limit);
      return {
        jobs: rows.map((r) => {
          const live = deps.scheduler.snapshot(r.id);
          return {
            request_id: r.id, kind: r.kind, created_by: r.createdBy, status: live?.status ?? r.state, current: live?.current ?? r.current, total: r.total,
            current_combo: live?.current_combo ?? r.currentCombo, params: repo.planOf(r).params, error: r.error,
            created_at: r.createdAt.toISOString(), started_at: r.startedAt?.toISOString() ?? null, finished_at: r.finishedAt?.toISOString() ?? null,
          };
        }),
      };
    }, { detail: doc({
      summary: "The most recent jobs", tag: "jobs",
      query: { limit: Int({ minimum: 1, maximum: 200, default: 50, description: "how many" }) },
      responses: { 200: json(JobList), 422: "limit out of range" },
    }) });
