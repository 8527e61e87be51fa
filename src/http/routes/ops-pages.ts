// The ops page and its fallback fragment. Both compute a metrics update now (the metrics topic
// publishes only while someone listens, so its last state may be old when nobody did).
import { Elysia } from "elysia";
import { opsFragment, opsPage, type OpsView } from "../../../views/pages/ops";
import { processMemory } from "../../realtime/metrics";
import { htmlResponse } from "../respond";
import { identityOf } from "../request-identity";

export interface OpsPagesDeps {
  version: string;
  /** The current metrics state (without publishing), bound once the realtime module is mounted. */
  metricsNow: () => Record<string, unknown> | undefined;
}

export const opsView = (metrics: Record<string, unknown> | undefined): OpsView => ({ metrics, memory: processMemory() });

export const opsPagesRoutes = (deps: OpsPagesDeps) =>
  new Elysia({ name: "ops-pages" })
    .get("/ops", ({ request }) => htmlResponse(opsPage(deps.version, identityOf(request), opsView(deps.metricsNow()))))
    .get("/ops/metrics", () => htmlResponse(opsFragment(opsView(deps.metricsNow()))));
