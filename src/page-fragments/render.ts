// The "page" wire format: a topic's state as the HTML fragment its page swaps in (hx-swap-oob
// elements only, so hx-ws never replaces the socket element itself). The hub calls this once per
// topic per tick, and only for topics some page socket follows.
import { jobIdOf, type Render } from "../realtime";
import { jobLiveFragment } from "../../views/pages/job";
import { dashboardFragment, type DashboardView } from "../../views/pages/dashboard";
import { DASHBOARD_TOPIC, type DashboardState } from "./dashboard-feed";
import type { JobClock } from "./job-clock";
import { jobLiveView, type JobState } from "./views";

export const PAGE_FORMAT = "page";

export interface PageRendererDeps {
  clock: JobClock;
  now: () => number;
  /** Renderers for the other page topics (update, metrics), added as those pages land. */
  more?: Record<string, (state: Record<string, unknown>) => string>;
  /** Renderers of whole families of topics (the live pages'): undefined when a topic is not theirs. */
  families?: ((topic: string, state: Record<string, unknown>) => string | undefined)[];
}

/** The dashboard's view: its state plus each job's rate and ETA at `now`. */
export function dashboardView(state: DashboardState, clock: JobClock, now: number): DashboardView {
  return {
    health: state.health,
    jobs: state.jobs.map((j) => ({ ...j, ...clock.timing(j.id, j.current, j.total, now) })),
  };
}

export function createPageRenderer(deps: PageRendererDeps): Render {
  return (topic, state) => {
    const id = jobIdOf(topic);
    if (id !== undefined) {
      const at = deps.now();
      // The hub tells listeners after rendering: note this state first so rate and ETA include it.
      deps.clock.observe(id, state, at);
      return jobLiveFragment(jobLiveView(id, state as JobState, deps.clock, at));
    }
    if (topic === DASHBOARD_TOPIC) return dashboardFragment(dashboardView(state as DashboardState, deps.clock, deps.now()));
    const more = deps.more?.[topic];
    if (more) return more(state);
    for (const family of deps.families ?? []) {
      const out = family(topic, state);
      if (out !== undefined) return out;
    }
    return null;
  };
}
