// Deployed strategies, their signals and replays over HTTP (live.md "Strategies", "Signals",
// "Ingest"): deploy, list, read with totals, stop; signals by page; start, read and cancel a
// replay. The role each route needs is declared in ROUTE_ACCESS (index.ts).
import { Elysia } from "elysia";
import { t } from "elysia";
import { doc, json } from "../openapi";
import { Int, Replay, ReplayCreate, SignalList, Strategy, StrategyCreate, StrategyList, StrategyWithTotals } from "./schemas";
import type { Database } from "../../db/database";
import { notFound } from "../../errors";
import type { LiveService } from "../../live/service";
import { SIGNALS_PAGE } from "../../live/signals";
import { getStrategy, listStrategies, strategyIdOf, strategyJson, strategyTotals } from "../../live/strategies";
import { readJsonObject } from "../body";
import { gameIdParam, intParam } from "../params";
import { identityOf } from "../request-identity";

export interface StrategiesDeps {
  database: () => Database;
  live: LiveService;
  /** Most time a request body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs: number;
}

/** A name and three numbers, or a name and a job id; a replay's list of up to 1000 game ids. */
const MAX_BODY_BYTES = 512 * 1024;
const MAX_SIGNAL_ID = Number.MAX_SAFE_INTEGER;


function strategyIdParam(raw: string): number {
  const id = strategyIdOf(raw);
  if (id === undefined) throw notFound("Strategy not found");
  return id;
}

export function strategiesRoutes(deps: StrategiesDeps) {
  const { database, live } = deps;
  const { replays } = live;
  return new Elysia({ name: "strategies" })
    .post("/api/strategies", async ({ request, set }) => {
      const body = await readJsonObject(request, { maxBytes: MAX_BODY_BYTES, timeoutMs: deps.bodyTimeoutMs }, "name and entry, exit, fee (or from_job)");
      const strategy = await live.deploy(body, identityOf(request));
      set.status = 201;
      return strategy;
    }, { parse: "none", detail: doc({
      summary: "Deploy a strategy on the live games", tag: "strategies", body: { "application/json": StrategyCreate },
      responses: { 201: json(Strategy), 400: "the body is not valid JSON", 422: "bad values, or from_job names no complete grid search" },
    }) })
    .get("/api/strategies", async () => {
      return { strategies: (await listStrategies(database())).map(strategyJson) };
    }, { detail: doc({ summary: "The deployed strategies, active and stopped", tag: "strategies", responses: { 200: json(StrategyList) } }) })
    .get("/api/strategies/:id", async ({ params }) => {
      const id = strategyIdParam(params.id);
      const row = await getStrategy(database(), id);
      if (!row) throw notFound("Strategy not found");
      return { ...strategyJson(row), ...strategyTotals(row) };
    }, { detail: doc({
      summary: "A strategy with its totals so far", tag: "strategies", params: { id: "the strategy's id (an integer)" },
      responses: { 200: json(StrategyWithTotals), 404: "Strategy not found" },
    }) })
    .post("/api/strategies/:id/stop", async ({ params, request }) => {
      return live.stop(strategyIdParam(params.id), identityOf(request));
    }, { detail: doc({
      summary: "Stop a strategy (its open positions are closed at the last price)", tag: "strategies", params: { id: "the strategy's id" },
      responses: { 200: json(Strategy), 404: "Strategy not found", 409: "stopped already" },
    }) })
    .get("/api/signals", async ({ query, request }) => {
      const strategy = query.strategy === undefined ? undefined : intParam(query.strategy, "strategy", { def: 0, min: 1, max: 2 ** 31 - 1 });
      const game = query.game === undefined ? undefined : gameIdParam(query.game, "game");
      const after = query.after === undefined ? undefined : intParam(query.after, "after", { def: 0, min: 0, max: MAX_SIGNAL_ID });
      const limit = intParam(query.limit, "limit", SIGNALS_PAGE);
      return { signals: await live.signals({ strategy, game, after, limit }, identityOf(request)) };
    }, { detail: doc({
      summary: "Signals, oldest first, a page at a time", tag: "strategies",
      query: { strategy: Int({ minimum: 1 }), game: t.String(), after: Int({ minimum: 0, description: "the last signal id seen" }), limit: Int({ minimum: 1 }) },
      responses: { 200: json(SignalList), 422: "a bad query value" },
    }) })
    .post("/api/live/replay", async ({ request, set }) => {
      const body = await readJsonObject(request, { maxBytes: MAX_BODY_BYTES, timeoutMs: deps.bodyTimeoutMs }, "games or count, and speed and prefix");
      const s = await replays.start(body, identityOf(request));
      set.status = 202;
      return s;
    }, { parse: "none", detail: doc({
      summary: "Replay stored games as live games", tag: "live", body: { "application/json": ReplayCreate },
      responses: { 202: json(Replay, "started"), 400: "the body is not valid JSON", 422: "bad games, count, speed or prefix" },
    }) })
    .get("/api/live/replay/:id", ({ params }) => {
      const s = replays.get(params.id);
      if (!s) throw notFound("Replay not found");
      return s;
    }, { detail: doc({ summary: "A replay's progress", tag: "live", params: { id: "the replay's id" }, responses: { 200: json(Replay), 404: "Replay not found" } }) })
    .post("/api/live/replay/:id/cancel", async ({ params, request }) => {
      return replays.cancel(params.id, identityOf(request));
    }, { detail: doc({
      summary: "Cancel a running replay", tag: "live", params: { id: "the replay's id" },
      responses: { 200: json(Replay), 404: "Replay not found", 409: "finished already" },
    }) });
}
