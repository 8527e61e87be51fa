// The HTML pages. Each renders from views/ with plain snapshots only.
import { Elysia } from "elysia";
import { dashboardPage } from "../../../views/pages/dashboard";
import { healthReport, type HealthSources } from "../../server/health";
import { htmlResponse } from "../respond";

export const pageRoutes = (deps: { version: string; health: HealthSources }) =>
  new Elysia({ name: "pages" }).get("/", async () => htmlResponse(dashboardPage(deps.version, await healthReport(deps.health))));
