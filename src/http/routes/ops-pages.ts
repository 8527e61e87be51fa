// The ops page and its fallback fragment. Both compute a metrics update now (the metrics topic
// publishes only while someone listens, so its last state may be old when nobody did).
import { Elysia } from "elysia";
import { doc, html } from "../openapi";
import { opsFragment, opsPage, type OpsHistory, type OpsView } from "../../../views/pages/ops";
import { processMemory } from "../../realtime/metrics";
import { htmlResponse } from "../respond";
import { identityOf } from "../request-identity";
import type { ClusterView } from "../../cluster/registry";

export interface OpsPagesDeps {
  version: string;
  /** The current metrics state (without publishing), bound once the realtime module is mounted. */
  metricsNow: () => Record<string, unknown> | undefined;
  /** The performance history's last hour for the charts (src/metrics-history); none: no charts. */
  history?: () => OpsHistory;
  /** The node registry's list (src/cluster/registry.ts). */
  cluster?: () => ClusterView;
}

export const opsView = (metrics: Record<string, unknown> | undefined, history?: () => OpsHistory, cluster?: () => ClusterView): OpsView =>
  ({ metrics, memory: processMemory(), history: history?.(), cluster: cluster?.() });

export const opsPagesRoutes = (deps: OpsPagesDeps) =>
  new Elysia({ name: "ops-pages" })
    .get("/ops", ({ request }) => htmlResponse(opsPage(deps.version, identityOf(request), opsView(deps.metricsNow(), deps.history, deps.cluster))), { detail: doc({
      summary: "The ops page: connections, throughput, workers, memory and the last hour's charts", tag: "pages", responses: { 200: html("the page") },
    }) })
    .get("/ops/metrics", () => htmlResponse(opsFragment(opsView(deps.metricsNow(), deps.history, deps.cluster))), { detail: doc({
      summary: "The ops page's figures, for the fallback poll", tag: "pages", responses: { 200: html("a fragment") },
    }) });
