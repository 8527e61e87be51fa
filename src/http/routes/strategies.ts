// Deployed strategies, their signals and replays over HTTP (live.md "Strategies", "Signals",
// "Ingest"): deploy, list, read with totals, stop; signals by page; start, read and cancel a
// replay. The role each route needs is declared in ROUTE_ACCESS (index.ts).
import { Elysia } from "elysia";
import type { Database } from "../../db/database";
import { notFound } from "../../errors";
import { listSignals, signalJson, SIGNALS_PAGE } from "../../live/signals";
import { createStrategy, getStrategy, listStrategies, stopStrategy, strategyIdOf, strategyJson, strategyTotals } from "../../live/strategies";
import { ingestTicks } from "../../live/ingest";
import { Replays, type ReplayDeps } from "../../live/replay";
import type { Signal } from "../../live/repository";
import { settleGame } from "../../live/settle";
import type { Logger } from "../../log/logger";
import { readJsonObject } from "../body";
import { gameIdParam, intParam } from "../params";
import { identityOf } from "../request-identity";

export interface StrategiesDeps {
  database: () => Database;
  /** Most time a request body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs: number;
  /** The replays of this server; default: built here over `replay`'s ingest and settle. */
  replays?: Replays;
  /** The HTTP ingest's publisher (LiveDeps.onSignals): a replay's signals are published like any other feed's. */
  onSignals?: (signals: Signal[]) => unknown;
  log?: Logger;
  /** Replaces parts of what a replay uses (tests; a publishing ingest wrapper). */
  replay?: Partial<Omit<ReplayDeps, "database">>;
  /** --starter-delay-ms: a starter identity reads only signals at least this old (live.md "Tiers"). */
  starterDelayMs?: number;
  /** Wall-clock milliseconds, for the starter cut-off (default Date.now). */
  now?: () => number;
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
  const { database } = deps;
  const replays = deps.replays ?? new Replays({
    database,
    ingest: (db, ticks, at) => ingestTicks(db, ticks, at, { onSignals: deps.onSignals, log: deps.log }),
    settle: (db, id, outcome, at) => settleGame(db, id, outcome, at, { onSignals: deps.onSignals, log: deps.log }),
    logger: deps.log,
    ...deps.replay,
  });
  const now = deps.now ?? Date.now;
  return new Elysia({ name: "strategies" })
    .post("/api/strategies", async ({ request, set }) => {
      const body = await readJsonObject(request, { maxBytes: MAX_BODY_BYTES, timeoutMs: deps.bodyTimeoutMs }, "name and entry, exit, fee (or from_job)");
      const row = await createStrategy(database(), body, identityOf(request), new Date(now()));
      set.status = 201;
      return strategyJson(row);
    }, { parse: "none" })
    .get("/api/strategies", async () => {
      return { strategies: (await listStrategies(database())).map(strategyJson) };
    })
    .get("/api/strategies/:id", async ({ params }) => {
      const id = strategyIdParam(params.id);
      const row = await getStrategy(database(), id);
      if (!row) throw notFound("Strategy not found");
      return { ...strategyJson(row), ...(await strategyTotals(database(), id)) };
    })
    .post("/api/strategies/:id/stop", async ({ params, request }) => {
      const row = await stopStrategy(database(), strategyIdParam(params.id), identityOf(request), new Date(now()));
      return strategyJson(row);
    })
    .get("/api/signals", async ({ query, request }) => {
      const strategy = query.strategy === undefined ? undefined : intParam(query.strategy, "strategy", { def: 0, min: 1, max: 2 ** 31 - 1 });
      const game = query.game === undefined ? undefined : gameIdParam(query.game, "game");
      const after = query.after === undefined ? undefined : intParam(query.after, "after", { def: 0, min: 0, max: MAX_SIGNAL_ID });
      const limit = intParam(query.limit, "limit", SIGNALS_PAGE);
      const identity = identityOf(request);
      const delay = deps.starterDelayMs ?? 0;
      const notAfter = identity?.tier === "starter" && delay > 0 ? new Date(now() - delay) : undefined;
      const rows = await listSignals(database(), { strategy, game, after, limit, notAfter });
      return { signals: rows.map(signalJson) };
    })
    .post("/api/live/replay", async ({ request, set }) => {
      const body = await readJsonObject(request, { maxBytes: MAX_BODY_BYTES, timeoutMs: deps.bodyTimeoutMs }, "games or count, and speed and prefix");
      const s = await replays.start(body, identityOf(request));
      set.status = 202;
      return s;
    }, { parse: "none" })
    .get("/api/live/replay/:id", ({ params }) => {
      const s = replays.get(params.id);
      if (!s) throw notFound("Replay not found");
      return s;
    })
    .post("/api/live/replay/:id/cancel", async ({ params, request }) => {
      return replays.cancel(params.id, identityOf(request));
    });
}
