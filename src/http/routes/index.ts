// The one place every route is mounted: the API, the pages, the protocol's sockets and the pages'
// sockets, in one table a newcomer can read top to bottom. Handlers live in the files beside this
// one; the socket mechanics (upgrade, admission, subscriptions) live in src/realtime.
import type { AnyElysia } from "elysia";
import type { Database } from "../../db/database";
import type { UpdateService } from "../../games/update";
import type { JobScheduler } from "../../jobs/scheduler";
import { DASHBOARD_TOPIC, PAGE_FORMAT, type PageFragments } from "../../page-fragments";
import { METRICS_TOPIC, UPDATE_TOPIC, type Realtime } from "../../realtime";
import type { HealthSources } from "../../server/health";
import { assetRoutes } from "./assets";
import { dashboardRoutes } from "./dashboard-pages";
import { dataPagesRoutes } from "./data-pages";
import { gamesRoutes } from "./games";
import { healthRoutes } from "./health";
import { jobPagesRoutes } from "./job-pages";
import { jobsRoutes } from "./jobs";
import { opsPagesRoutes } from "./ops-pages";
import { jobOfParams, mountProtocolRoutes } from "./sockets";

export interface RouteDeps {
  version: string;
  database: () => Database;
  health: HealthSources;
  updates: UpdateService;
  scheduler: JobScheduler;
  realtime: Realtime;
  pages: PageFragments;
  maxPairs: number;
  maxImportBytes: number;
  bodyTimeoutMs: number;
}

export function mountRoutes(app: AnyElysia, deps: RouteDeps): void {
  const { version, database, updates, scheduler, realtime, pages } = deps;
  const imports = { database, updates, maxImportBytes: deps.maxImportBytes, bodyTimeoutMs: deps.bodyTimeoutMs };

  // Programs: health, assets, the API (protocol.md), realtime status and metrics.
  app.use(healthRoutes(deps.health));
  app.use(assetRoutes());
  app.use(gamesRoutes(imports));
  app.use(jobsRoutes({ database, scheduler, maxPairs: deps.maxPairs, bodyTimeoutMs: deps.bodyTimeoutMs }));
  // The protocol's sockets (/ws, the job and update sockets) and realtime status, /metrics.
  mountProtocolRoutes(app, realtime);

  // Pages for people (htmx), and the sockets that keep them live, one per page, named for what it watches.
  app.use(dashboardRoutes({ version, database, scheduler, feed: pages.feed, clock: pages.clock, maxPairs: deps.maxPairs, now: pages.now, bodyTimeoutMs: deps.bodyTimeoutMs }));
  app.use(jobPagesRoutes({ version, database, scheduler, clock: pages.clock, now: pages.now, bodyTimeoutMs: deps.bodyTimeoutMs }));
  app.use(dataPagesRoutes({ version, ...imports }));
  app.use(opsPagesRoutes({ version, metricsNow: pages.metricsNow }));
  realtime.topicSocket("/pages/ws/jobs/:id", { format: PAGE_FORMAT, topic: jobOfParams, endWithJob: true });
  realtime.topicSocket("/pages/ws/dashboard", { format: PAGE_FORMAT, topic: () => DASHBOARD_TOPIC });
  realtime.topicSocket("/pages/ws/update", { format: PAGE_FORMAT, topic: () => UPDATE_TOPIC });
  realtime.topicSocket("/pages/ws/metrics", { format: PAGE_FORMAT, topic: () => METRICS_TOPIC });
}
