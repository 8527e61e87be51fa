// The one place every route is mounted: the API, the pages, the protocol's sockets and the pages'
// sockets, in one table a newcomer can read top to bottom, and beside it the one table of what
// each route requires (access.md). Handlers live in the files beside this one; the socket
// mechanics (upgrade, admission, subscriptions) live in src/realtime; the guard in src/access.
import type { AnyElysia } from "elysia";
import type { Access } from "../../access";
import { createGuard, type Identifier } from "../../access/guard";
import type { LimitKind, RateLimits } from "../../access/rate-limit";
import type { Requirement } from "../../access/roles";
import type { Database } from "../../db/database";
import { DomainError } from "../../errors";
import type { UpdateService } from "../../games/update";
import type { JobScheduler } from "../../jobs/scheduler";
import { DASHBOARD_TOPIC, LIVE_PAGE_TOPIC, liveGamePageTopic, PAGE_FORMAT, type PageFragments } from "../../page-fragments";
import { METRICS_TOPIC, UPDATE_TOPIC, type Realtime } from "../../realtime";
import type { SocketIdentity } from "../../realtime/registry";
import type { HealthSources } from "../../server/health";
import { isApiPath, isHtmx, isSocketPath } from "../respond";
import { assetRoutes } from "./assets";
import { dashboardRoutes } from "./dashboard-pages";
import { dataPagesRoutes } from "./data-pages";
import { gamesRoutes } from "./games";
import { healthRoutes } from "./health";
import { jobPagesRoutes } from "./job-pages";
import { jobsRoutes } from "./jobs";
import { loginRoutes } from "./login-pages";
import { opsPagesRoutes } from "./ops-pages";
import { metricsHistoryRoutes } from "./metrics-history";
import { ALERTS_TOPIC } from "../../alerts";
import { jobOfParams, mountProtocolRoutes } from "./sockets";
import type { LiveService } from "../../live/service";
import { liveRoutes } from "./live";
import { livePagesRoutes } from "./live-pages";
import { strategiesRoutes } from "./strategies";
import { tokensRoutes } from "./tokens";
import { docsRoutes } from "./docs";
import { clusterRoutes } from "./cluster";
import type { ClusterRegistry } from "../../cluster/registry";
import { assertEveryRouteDescribed } from "../openapi";

/**
 * What every route requires, keyed `METHOD pattern` exactly as mounted (`WS` for a socket's
 * upgrade, whose plain GET answers 426). With --auth on only the first four are open to anyone;
 * with auth off every request is admin, so this table then changes nothing. A route mounted but
 * missing here stops the server at start (assertEveryRouteDeclared), so none is ever open by
 * accident.
 */
export const ROUTE_ACCESS = {
  // Open to anyone: health (no client data), signing in, the assets the login page needs.
  "GET /health": "public",
  "GET /login": "public",
  "POST /login": "public",
  "GET /static/*": "public",
  "POST /logout": "viewer", // any identity

  // Admin: client addresses and agents, hub counters, Prometheus (--metrics-public opens it), deleting, tokens.
  "GET /api/websocket/status": "admin",
  "GET /ws/stats": "admin",
  "GET /metrics": "admin",
  // The performance history (README "Performance history and alerts").
  "GET /api/metrics/history": "admin",
  "DELETE /api/games/:id": "admin",
  "GET /api/tokens": "admin",
  "POST /api/tokens": "admin",
  "DELETE /api/tokens/:id": "admin",

  // Operator: starting and cancelling jobs, imports, updates, demo data (the API and the page forms).
  "POST /api/grid-search/run": "operator",
  "POST /api/simulation/run": "operator",
  "POST /api/jobs/:id/cancel": "operator",
  "POST /api/games/import": "operator",
  "POST /api/games/demo": "operator",
  "POST /api/update": "operator",
  "POST /grid-search": "operator",
  "POST /simulation": "operator",
  "POST /jobs/:id/cancel": "operator",
  "POST /data/import": "operator",
  "POST /data/demo": "operator",
  "POST /live/replay": "operator",
  "POST /live/strategies": "operator",
  // Deployed strategies and replays (live.md): deploying, stopping, replaying and cancelling a replay.
  "POST /api/live/ticks": "operator",
  "POST /api/live/games/:id/settle": "operator",
  "POST /api/strategies": "operator",
  "POST /api/strategies/:id/stop": "operator",
  "POST /api/live/replay": "operator",
  "POST /api/live/replay/:id/cancel": "operator",

  // Viewer: every other read. The preview is a POST that changes nothing.
  // The API's description: a viewer, not public, so an anonymous scanner gets no map of the routes,
  // while whoever may call the API at all (a viewer at least) can read how.
  "GET /openapi.json": "viewer",
  "GET /docs": "viewer",
  "GET /api/games": "viewer",
  "GET /api/games/export.csv": "viewer",
  "GET /api/update/status": "viewer",
  "GET /api/grid-search/progress/:id": "viewer",
  "GET /api/simulation/progress/:id": "viewer",
  "GET /api/grid-search/results/:id": "viewer",
  "GET /api/simulation/results/:id": "viewer",
  "GET /api/jobs": "viewer",
  "GET /api/live/games": "viewer",
  "GET /api/strategies": "viewer",
  "GET /api/strategies/:id": "viewer",
  "GET /api/signals": "viewer",
  "GET /api/live/replay/:id": "viewer",
  // The node registry: what /health (public) already shows, so any identity may read it.
  "GET /api/cluster": "viewer",
  "GET /": "viewer",
  "GET /pages/dashboard": "viewer",
  "GET /grid-search/new": "viewer",
  "POST /grid-search/preview": "viewer",
  "GET /jobs/:id": "viewer",
  "GET /jobs/:id/live": "viewer",
  "GET /jobs/:id/results": "viewer",
  "GET /jobs/:id/results.json": "viewer",
  "GET /jobs/:id/results.csv": "viewer",
  "GET /data": "viewer",
  "GET /data/games": "viewer",
  "GET /data/status": "viewer",
  "GET /ops": "viewer",
  "GET /ops/metrics": "viewer",
  "GET /live": "viewer",
  "GET /pages/live": "viewer",
  "GET /live/:id": "viewer",
  "GET /pages/live/:id": "viewer",

  // Viewer: every socket (the protocol's and the pages'), upgrade and plain GET alike.
  ...socketEntries("/ws", "/ws/grid-search/:id", "/ws/simulation/:id", "/ws/update/status",
    "/pages/ws/jobs/:id", "/pages/ws/dashboard", "/pages/ws/update", "/pages/ws/metrics",
    "/pages/ws/live", "/pages/ws/live/:id"),
} as const satisfies Record<string, Requirement>;

function socketEntries<P extends string>(...paths: P[]): Record<`WS ${P}` | `GET ${P}`, "viewer"> {
  return Object.fromEntries(paths.flatMap((p) => [[`WS ${p}`, "viewer"], [`GET ${p}`, "viewer"]])) as never;
}

/** The requests each rate limit counts (access.md "Rate limits"): sign-ins, job submissions, imports. */
export const RATE_LIMITED: Readonly<Record<string, LimitKind>> = {
  "POST /login": "login",
  "POST /api/grid-search/run": "jobs",
  "POST /api/simulation/run": "jobs",
  "POST /grid-search": "jobs",
  "POST /simulation": "jobs",
  "POST /api/games/import": "imports",
  "POST /api/update": "imports",
  "POST /api/games/demo": "imports",
  "POST /data/import": "imports",
  "POST /data/demo": "imports",
};

export interface AccessOptions {
  /** --metrics-public: GET /metrics answers a scraper without a token. */
  metricsPublic: boolean;
  /** --host, --allowed-hosts, --allowed-origins: what the Host and cross-site rules accept. */
  listenHost: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  limits: RateLimits;
}

/** The requirement of `METHOD pattern`, --metrics-public applied; undefined: the route is not declared. */
export function requirementOf(method: string, route: string, metricsPublic = false): Requirement | undefined {
  const key = `${method} ${route}`;
  if (metricsPublic && key === "GET /metrics") return "public";
  return (ROUTE_ACCESS as Record<string, Requirement>)[key];
}

/** Stops the start when a mounted route has no requirement: better no server than an open route. */
export function assertEveryRouteDeclared(app: AnyElysia): void {
  const missing = app.routes.map((r) => `${r.method} ${r.path}`).filter((k) => !Object.hasOwn(ROUTE_ACCESS, k));
  if (missing.length) throw new Error(`routes mounted without an entry in ROUTE_ACCESS (src/http/routes/index.ts): ${missing.join(", ")}`);
}

export interface RouteDeps {
  version: string;
  database: () => Database;
  health: HealthSources;
  /** The node registry (src/cluster/registry.ts). */
  cluster: ClusterRegistry;
  updates: UpdateService;
  scheduler: JobScheduler;
  realtime: Realtime;
  pages: PageFragments;
  access: Access & Identifier;
  /** Live games, strategies, signals and replays (live.md): every door goes through it. */
  live: LiveService;
  security: AccessOptions;
  /** --session-ttl: the login cookie's Max-Age. */
  sessionTtlMs: number;
  maxPairs: number;
  maxImportBytes: number;
  bodyTimeoutMs: number;
  /** --metrics-history-interval-ms and --metrics-retention, for GET /api/metrics/history. */
  metricsHistory: { intervalMs: number; retentionMs: number; now: () => number };
}

/** Where a page request without an identity goes: the login form, back here afterwards. */
function loginRedirect(request: Request): Response {
  const url = new URL(request.url);
  // A form post has no page to come back to; an htmx request comes back to the page it was made from.
  let next = request.method === "GET" || request.method === "HEAD" ? url.pathname + url.search : "/";
  if (isHtmx(request)) {
    const current = request.headers.get("hx-current-url");
    try {
      const c = current ? new URL(current) : null;
      next = c && c.host === url.host ? c.pathname + c.search : "/";
    } catch {
      next = "/";
    }
  }
  const location = `/login?next=${encodeURIComponent(next)}`;
  // htmx follows a 303 inside fetch and would swap the login page into a fragment: HX-Redirect moves the tab.
  if (isHtmx(request)) return new Response(null, { status: 401, headers: { "hx-redirect": location } });
  return new Response(null, { status: 303, headers: { location, "cache-control": "no-store" } });
}

/** Mounts the guard first (Elysia applies a hook only to routes added after it), then every route. */
function mountGuard(app: AnyElysia, deps: RouteDeps): void {
  const s = deps.security;
  const guard = createGuard({
    access: deps.access,
    requirementOf: (method, route) => requirementOf(method, route, s.metricsPublic),
    limitOf: (method, route) => RATE_LIMITED[`${method} ${route}`],
    limits: s.limits,
    listenHost: s.listenHost,
    // Getters: a reload may change these (src/server/reload.ts), and the guard reads them per request.
    get allowedHosts() { return s.allowedHosts; },
    get allowedOrigins() { return s.allowedOrigins; },
    bodyTimeoutMs: deps.bodyTimeoutMs,
  });
  // Before routing, so unmatched paths (and socket upgrades) get the Host and cross-site rules too;
  // an unmatched path is then a 404: nothing is there to protect.
  app.onRequest(({ request }) => guard.screen(request));
  app.onBeforeHandle({ as: "global" }, async ({ route, request, server }) => {
    try {
      await guard.admit(request, route, server?.requestIP(request)?.address ?? "unknown");
    } catch (err) {
      const path = new URL(request.url).pathname;
      if (err instanceof DomainError && err.code === "unauthorized" && !isApiPath(path) && !isSocketPath(path)) return loginRedirect(request);
      throw err;
    }
  });
}

export function mountRoutes(app: AnyElysia, deps: RouteDeps): void {
  const { version, database, updates, scheduler, realtime, pages, access } = deps;
  const imports = { database, updates, maxImportBytes: deps.maxImportBytes, bodyTimeoutMs: deps.bodyTimeoutMs };
  mountGuard(app, deps);

  // Programs: health, assets, the API (protocol.md), realtime status and metrics.
  app.use(healthRoutes(deps.health));
  app.use(assetRoutes());
  app.use(gamesRoutes(imports));
  app.use(jobsRoutes({ database, scheduler, get maxPairs() { return deps.maxPairs; }, bodyTimeoutMs: deps.bodyTimeoutMs }));
  app.use(tokensRoutes({ access, bodyTimeoutMs: deps.bodyTimeoutMs }));
  app.use(liveRoutes({ live: deps.live, bodyTimeoutMs: deps.bodyTimeoutMs, maxBytes: deps.maxImportBytes }));
  app.use(strategiesRoutes({ database, live: deps.live, bodyTimeoutMs: deps.bodyTimeoutMs }));
  app.use(metricsHistoryRoutes({ database, ...deps.metricsHistory }));
  app.use(clusterRoutes(deps.cluster));
  // The protocol's sockets (/ws, the job and update sockets) and realtime status, /metrics.
  mountProtocolRoutes(app, realtime);
  // The API described (/openapi.json, /docs) from every route mounted here, read when asked.
  app.use(docsRoutes({
    version,
    routes: () => app.routes,
    requirementOf: (method, route) => requirementOf(method, route, deps.security.metricsPublic),
    rateLimited: (method, route) => Object.hasOwn(RATE_LIMITED, `${method} ${route}`),
  }));

  // Pages for people (htmx), and the sockets that keep them live, one per page, named for what it watches.
  app.use(loginRoutes({ version, access, sessionTtlMs: deps.sessionTtlMs, bodyTimeoutMs: deps.bodyTimeoutMs }));
  app.use(dashboardRoutes({ version, database, scheduler, feed: pages.feed, clock: pages.clock, get maxPairs() { return deps.maxPairs; }, now: pages.now, bodyTimeoutMs: deps.bodyTimeoutMs }));
  app.use(jobPagesRoutes({ version, database, scheduler, clock: pages.clock, now: pages.now, bodyTimeoutMs: deps.bodyTimeoutMs }));
  app.use(dataPagesRoutes({ version, ...imports }));
  app.use(opsPagesRoutes({ version, metricsNow: pages.metricsNow, history: pages.opsHistory, cluster: pages.cluster }));
  app.use(livePagesRoutes({ version, live: deps.live, pages: pages.live, bodyTimeoutMs: deps.bodyTimeoutMs }));
  // One socket a page: an admin's also carries the alerts banner (README "Performance history and alerts").
  const page = { format: PAGE_FORMAT, alsoFollow: (who: SocketIdentity) => (who.role === "admin" ? [ALERTS_TOPIC] : []) };
  realtime.topicSocket("/pages/ws/jobs/:id", { ...page, topic: jobOfParams, endWithJob: true });
  realtime.topicSocket("/pages/ws/dashboard", { ...page, topic: () => DASHBOARD_TOPIC });
  realtime.topicSocket("/pages/ws/update", { ...page, topic: () => UPDATE_TOPIC });
  realtime.topicSocket("/pages/ws/metrics", { ...page, topic: () => METRICS_TOPIC });
  realtime.topicSocket("/pages/ws/live", { ...page, topic: () => LIVE_PAGE_TOPIC });
  realtime.topicSocket("/pages/ws/live/:id", { ...page, topic: (p) => liveGamePageTopic(p.id ?? "") });

  assertEveryRouteDeclared(app);
  assertEveryRouteDescribed(app.routes);
}
