// The htmx pages, wired: their routes, the "page" wire format the hub renders for page sockets
// (HTML fragments, once per topic per tick, only while a page listens), and the page sockets,
// each named for what it watches. lifecycle.ts mounts `routes` and calls `mount` after mountRealtime.
import type { Database } from "../db/database";
import type { UpdateService } from "../games/update";
import type { JobScheduler } from "../jobs/scheduler";
import { jobIdOf, jobTopic, metricsUpdate, METRICS_TOPIC, UPDATE_TOPIC, type Hub, type Realtime } from "../realtime";
import type { HealthSources } from "../server/health";
import { jobPagesRoutes } from "../http/routes/job-pages";
import { dashboardRoutes } from "../http/routes/pages";
import { dataPagesRoutes } from "../http/routes/data-pages";
import { opsPagesRoutes, opsView } from "../http/routes/ops-pages";
import { updateStatusFragment, type UpdateStatusView } from "../../views/pages/data";
import { opsFragment } from "../../views/pages/ops";
import { DashboardFeed, DASHBOARD_TOPIC } from "./dashboard-feed";
import { JobClock } from "./job-clock";
import { createPageRenderer, PAGE_FORMAT } from "./render";

export { PAGE_FORMAT } from "./render";

export interface SiteDeps {
  version: string;
  hub: Hub;
  database: () => Database;
  scheduler: JobScheduler;
  updates: UpdateService;
  health: HealthSources;
  maxPairs: number;
  maxImportBytes: number;
  bodyTimeoutMs: number;
  now?: () => number;
}

export function createSite(deps: SiteDeps) {
  const now = deps.now ?? (() => Date.now());
  const clock = new JobClock();
  const feed = new DashboardFeed({ hub: deps.hub, database: deps.database, scheduler: deps.scheduler, health: deps.health });
  const routes = [
    dashboardRoutes({ version: deps.version, database: deps.database, scheduler: deps.scheduler, feed, clock, maxPairs: deps.maxPairs, now }),
    jobPagesRoutes({ version: deps.version, database: deps.database, scheduler: deps.scheduler, clock, now }),
    dataPagesRoutes({ version: deps.version, database: deps.database, updates: deps.updates, maxImportBytes: deps.maxImportBytes, bodyTimeoutMs: deps.bodyTimeoutMs }),
    opsPagesRoutes({ version: deps.version, metricsNow: () => metricsNow() }),
  ];
  let metricsNow: () => Record<string, unknown> | undefined = () => undefined;
  return {
    clock,
    feed,
    routes,
    /** Registers the page format and the page sockets; call after mountRealtime, before listen. */
    mount(realtime: Realtime) {
      const { hub } = deps;
      // Timing is measured on every job publish, watched or not, so a page opened mid-job has a rate.
      hub.onPublish((e) => {
        const id = jobIdOf(e.topic);
        if (id === undefined) return;
        clock.observe(id, e.state, now());
        feed.onPublish(e);
      });
      // Known before any dashboard opens, so its socket is accepted (and gets this first state).
      feed.publish();
      // The last metrics_update if one went out, else a fresh reading: rendering a page must not
      // publish (that would send every metrics subscriber an extra update).
      metricsNow = () => {
        const last = hub.snapshot(METRICS_TOPIC);
        return last.ok && last.state ? last.state : metricsUpdate(realtime.metrics.figures(), realtime.metrics.intervalMs);
      };
      hub.addFormat(PAGE_FORMAT, createPageRenderer({
        clock, now,
        more: {
          [UPDATE_TOPIC]: (state) => updateStatusFragment(state as unknown as UpdateStatusView),
          [METRICS_TOPIC]: (state) => opsFragment(opsView(state)),
        },
      }));
      realtime.topicSocket("/pages/ws/jobs/:id", { format: PAGE_FORMAT, topic: (p) => jobTopic(p.id ?? ""), endWithJob: true });
      realtime.topicSocket("/pages/ws/dashboard", { format: PAGE_FORMAT, topic: () => DASHBOARD_TOPIC });
      realtime.topicSocket("/pages/ws/update", { format: PAGE_FORMAT, topic: () => UPDATE_TOPIC });
      realtime.topicSocket("/pages/ws/metrics", { format: PAGE_FORMAT, topic: () => METRICS_TOPIC });
    },
  };
}

export type Site = ReturnType<typeof createSite>;
