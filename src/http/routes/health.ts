// GET /health: database, workers and websocket in one report; 503 unless everything is ok.
import { Elysia } from "elysia";
import { healthReport, type HealthSources } from "../../server/health";

export const healthRoutes = (sources: HealthSources) =>
  new Elysia({ name: "health" }).get("/health", async ({ set }) => {
    const report = await healthReport(sources);
    set.status = report.status === "ok" ? 200 : 503;
    set.headers["cache-control"] = "no-store";
    return report;
  });
