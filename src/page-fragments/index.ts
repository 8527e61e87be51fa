// What the htmx pages are fed over their sockets: the "page" wire format the hub renders (HTML
// fragments, once per topic per tick, only while a page listens), the dashboard's topic, and the
// job clock that gives rates and ETAs. The routes and page sockets that use them are mounted in
// src/http/routes/index.ts; `attach` runs once the realtime binding exists, before listen.
import type { ClusterView } from "../cluster/registry";
import type { Database } from "../db/database";
import type { JobScheduler } from "../jobs/scheduler";
import type { LiveService } from "../live/service";
import { jobIdOf, metricsUpdate, METRICS_TOPIC, UPDATE_TOPIC, type Hub, type Realtime, type Resolution } from "../realtime";
import type { HealthSources } from "../server/health";
import { updateStatusFragment, type UpdateStatusView } from "../../views/pages/data";
import { opsFragment, type OpsHistory } from "../../views/pages/ops";
import { alertsBannerFragment } from "../../views/alerts";
import { ALERTS_TOPIC } from "../alerts";
import { opsView } from "../http/routes/ops-pages";
import { DashboardFeed } from "./dashboard-feed";
import { JobClock } from "./job-clock";
import { createPageRenderer, PAGE_FORMAT } from "./render";
import { LivePagesFeed, renderLivePage } from "./live-pages";

export { PAGE_FORMAT } from "./render";
export { DASHBOARD_TOPIC } from "./dashboard-feed";
export { isLivePageTopic, LIVE_PAGE_TOPIC, liveGamePageTopic } from "./live-pages";

export interface PageFragmentsDeps {
  hub: Hub;
  database: () => Database;
  scheduler: JobScheduler;
  health: HealthSources;
  /** The live feed the live pages follow (live.md "Pages"). */
  live: LiveService;
  now?: () => number;
  /** The performance history's last hour, for the ops page's charts (src/metrics-history). */
  opsHistory?: () => OpsHistory;
  /** The node registry's list, for the ops page's nodes panel. */
  cluster?: () => ClusterView;
}

export function createPageFragments(deps: PageFragmentsDeps) {
  const now = deps.now ?? (() => Date.now());
  const clock = new JobClock();
  const feed = new DashboardFeed({ hub: deps.hub, database: deps.database, scheduler: deps.scheduler, health: deps.health });
  const live = new LivePagesFeed({ hub: deps.hub, feed: deps.live.feed, database: deps.database });
  let metricsNow: () => Record<string, unknown> | undefined = () => undefined;
  return {
    clock,
    feed,
    /** The live pages' topics. */
    live,
    now,
    /** The page topics this module serves beyond the hub's own (undefined: not a page topic). */
    resolve: (topic: string): Resolution | undefined => live.resolve(topic),
    /** The last metrics_update if one went out, else a fresh reading (undefined before attach). */
    metricsNow: () => metricsNow(),
    opsHistory: deps.opsHistory,
    cluster: deps.cluster,
    /** Registers the page format with the hub and starts the dashboard feed. */
    attach(realtime: Realtime) {
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
      live.attach();
      // Rendering a page must not publish (that would send every metrics subscriber an extra update).
      metricsNow = () => {
        const last = hub.snapshot(METRICS_TOPIC);
        return last.ok && last.state ? last.state : metricsUpdate(realtime.metrics.figures(), realtime.metrics.intervalMs);
      };
      hub.addFormat(PAGE_FORMAT, createPageRenderer({
        clock, now,
        more: {
          [UPDATE_TOPIC]: (state) => updateStatusFragment(state as unknown as UpdateStatusView),
          [METRICS_TOPIC]: (state) => opsFragment(opsView(state, deps.opsHistory, deps.cluster)),
          [ALERTS_TOPIC]: (state) => alertsBannerFragment(state),
        },
        families: [renderLivePage],
      }));
    },
  };
}

export type PageFragments = ReturnType<typeof createPageFragments>;
