// GET /health: database, workers and websocket in one report; 503 unless everything is ok.
import { Elysia } from "elysia";
import { doc, json } from "../openapi";
import { Health } from "./schemas";
import { healthReport, type HealthSources } from "../../server/health";

export const healthRoutes = (sources: HealthSources) =>
  new Elysia({ name: "health" }).get("/health", async ({ set }) => {
    const report = await healthReport(sources);
    set.status = report.status === "ok" ? 200 : 503;
    set.headers["cache-control"] = "no-store";
    return report;
  }, { detail: doc({
    summary: "Database, workers and websocket in one report", tag: "health",
    responses: { 200: json(Health, "everything is ok"), 503: json(Health, "degraded: the database is not open (yet), or a part is unhealthy") },
  }) });
