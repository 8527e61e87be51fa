// The OpenAPI 3.1 document of every mounted route (GET /openapi.json, rendered by /docs), made from
// what the routes themselves carry: the method and path as mounted (app.routes), the `detail` each
// route declares beside its handler (summary, query, body, answers), the role ROUTE_ACCESS gives it
// and the rate limit RATE_LIMITED counts it under. The schemas in `detail` are Elysia `t` values
// used as JSON Schema only: Elysia never sees them as validators, so the handlers' own checks and
// their messages stay what answers a bad request.
import type { TSchema } from "elysia";
import type { DocumentDecoration } from "elysia/types";
import type { Requirement } from "../access/roles";
import { SESSION_COOKIE } from "../access/index";
import { isApiPath } from "./respond";

/** What a route declares about itself, beside its handler (see `doc`). */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** The group it is listed under (the route file it lives in). */
  tag: string;
  /** Query parameters by name; optional unless named in `requiredQuery`. */
  query?: Record<string, TSchema>;
  requiredQuery?: string[];
  /** Path parameters' meaning, by name (their schema is a string: the handler reads it). */
  params?: Record<string, string>;
  /** Request bodies by media type; `optional` when the route also takes none (parameters in the query). */
  body?: { [mediaType: string]: TSchema } | { optional: true; content: { [mediaType: string]: TSchema } };
  /** Answers by status: a description alone, or one built with json/html/csv/redirectTo below. */
  responses: Record<number, string | Answer>;
}

export interface Answer {
  description: string;
  content?: Record<string, { schema: TSchema | object }>;
  headers?: Record<string, { description: string; schema: object }>;
}

export const json = (schema: TSchema, description = "JSON"): Answer => ({ description, content: { "application/json": { schema } } });
export const html = (description: string): Answer => ({ description, content: { "text/html": { schema: { type: "string" } } } });
export const csv = (description: string): Answer => ({ description, content: { "text/csv": { schema: { type: "string" } } } });
export const redirectTo = (description: string): Answer => ({ description, headers: { Location: { description: "where to go next", schema: { type: "string" } } } });

/** A route's `detail`: the OpenAPI operation its RouteDoc describes (Elysia keeps it as metadata only). */
export function doc(d: RouteDoc): DocumentDecoration {
  const parameters = Object.entries(d.query ?? {}).map(([name, schema]) => ({
    name, in: "query", required: d.requiredQuery?.includes(name) ?? false, schema, ...(schema.description ? { description: schema.description } : {}),
  }));
  const body = d.body && ("optional" in d.body ? { required: false, content: d.body.content } : { required: true, content: d.body as Record<string, TSchema> });
  return {
    summary: d.summary,
    ...(d.description ? { description: d.description } : {}),
    tags: [d.tag],
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: { required: body.required, content: Object.fromEntries(Object.entries(body.content).map(([type, schema]) => [type, { schema }])) } } : {}),
    responses: Object.fromEntries(Object.entries(d.responses).map(([status, a]) => [status, typeof a === "string" ? { description: a } : a])),
    ...(d.params ? { "x-params": d.params } : {}),
  } as DocumentDecoration;
}

/** What the document needs of a mounted route: app.routes' entries are these. */
export interface MountedRoute {
  method: string;
  path: string;
  hooks?: { detail?: DocumentDecoration };
}

export interface OpenApiOptions {
  version: string;
  /** The role `METHOD pattern` needs (ROUTE_ACCESS, --metrics-public applied). */
  requirementOf(method: string, path: string): Requirement | undefined;
  /** Whether a rate limit counts `METHOD pattern` (RATE_LIMITED). */
  rateLimited(method: string, path: string): boolean;
}

type Operation = Record<string, unknown> & { responses: Record<string, unknown> };
export type OpenApiDocument = { openapi: string; info: { title: string; version: string; description?: string }; paths: Record<string, Record<string, Operation>>; components: object; tags: object[] };

/** `/jobs/:id/live` -> `/jobs/{id}/live`; the assets' `*` -> `{name}`. */
export const openApiPath = (path: string) => path.replace(/:([^/]+)/g, "{$1}").replace(/\/\*$/, "/{name}");

/** Routes with neither a `detail` nor a socket behind them: every one must be described. */
export function undescribed(routes: readonly MountedRoute[]): string[] {
  const sockets = new Set(routes.filter((r) => r.method === "WS").map((r) => r.path));
  return routes.filter((r) => r.method !== "WS" && !sockets.has(r.path) && !r.hooks?.detail?.summary).map((r) => `${r.method} ${r.path}`);
}

/** Stops the start when a mounted route has no description, as ROUTE_ACCESS does for one without a role. */
export function assertEveryRouteDescribed(routes: readonly MountedRoute[]): void {
  const missing = undescribed(routes);
  if (missing.length) throw new Error(`routes mounted without a detail: doc({...}) for /openapi.json (src/http/openapi.ts): ${missing.join(", ")}`);
}

const ERROR_SCHEMA = {
  type: "object",
  required: ["detail"],
  properties: { detail: { type: "string", description: "what went wrong, for a person to act on" } },
  additionalProperties: true,
  description: "Every API error: `detail` and, for some, more (`status` of a job, `retry_after` seconds, `is_running`).",
};

/** An error answer in the path's kind: JSON for programs (isApiPath), a page or an htmx fragment for people. */
function errorAnswer(path: string, description: string): Answer {
  return isApiPath(path)
    ? { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } }
    : html(`${description} (an error page, or an error fragment for an htmx request)`);
}

function socketOperation(path: string): Operation {
  const pageSocket = path.startsWith("/pages/ws/");
  return {
    summary: pageSocket ? "A page's socket: HTML fragments for htmx's hx-ws" : "A protocol socket: JSON messages (protocol.md)",
    description: pageSocket
      ? "Opened by the page it belongs to; it sends HTML fragments (hx-swap-oob, hx-partial) as what the page shows changes."
      : "A WebSocket of the wire protocol (protocol.md): the current state right after the upgrade, then every change, coalesced per broadcast tick.",
    tags: ["sockets"],
    "x-websocket": true,
    responses: {
      101: { description: "Switching Protocols: the socket is open" },
      403: errorAnswer(path, "the Origin is not allowed, or the role may not open it"),
      426: errorAnswer(path, "Upgrade Required: a plain GET of a socket's path"),
    },
  };
}

const toOperationId = (method: string, path: string) =>
  method.toLowerCase() + path.split("/").filter(Boolean).map((s) => (s.startsWith(":") ? `By${cap(s.slice(1))}` : s === "*" ? "Asset" : cap(s.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string) => c?.toUpperCase() ?? "")))).join("");
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The operation of one route: its own detail, then its path parameters, its role and the refusals every route of that role can get. */
function operationOf(route: MountedRoute, socket: boolean, options: OpenApiOptions): Operation {
  const { method, path } = route;
  const base = socket ? socketOperation(path) : (structuredClone(route.hooks!.detail) as unknown as Operation);
  const meanings = (base["x-params"] ?? {}) as Record<string, string>;
  delete base["x-params"];
  const names = [...path.matchAll(/:([^/]+)/g)].map((m) => m[1]).concat(path.endsWith("/*") ? ["name"] : []);
  const pathParams = names.map((name) => ({
    name, in: "path", required: true, schema: { type: "string" }, description: meanings[name] ?? (name === "name" ? "an embedded asset's name" : `the ${name}`),
  }));
  const role = options.requirementOf(socket ? "WS" : method, path) ?? "admin";
  const responses: Record<string, unknown> = { ...base.responses };
  if (role !== "public") {
    responses[401] ??= isApiPath(path) || socket ? errorAnswer(path, "no identity: send a token (Authorization: Bearer) or sign in")
      : { description: "not signed in: a browser is sent to /login (303), an htmx request gets 401 with HX-Redirect" };
    responses[403] ??= errorAnswer(path, `the identity's role is below ${role}, or a signed-in browser's change lacks its CSRF token`);
  }
  if (options.rateLimited(method, path)) {
    responses[429] ??= { ...errorAnswer(path, "too many requests of this kind: try again after Retry-After seconds"), headers: { "Retry-After": { description: "seconds", schema: { type: "integer" } } } };
  }
  responses.default ??= errorAnswer(path, "an error: its status and a message saying what went wrong");
  for (const [status, answer] of Object.entries(responses)) {
    // An error status given by description only gets the path's error shape.
    if (Number(status) >= 400 && !(answer as Answer).content && !(answer as Answer).headers) responses[status] = errorAnswer(path, (answer as Answer).description);
  }
  return {
    ...base,
    operationId: toOperationId(method, path),
    ...(pathParams.length || base.parameters ? { parameters: [...pathParams, ...((base.parameters as object[]) ?? [])] } : {}),
    ...(role === "public" ? { security: [] } : {}),
    "x-required-role": role,
    responses,
  };
}

/** The document: every mounted route, a socket's upgrade and plain GET as one GET (101 or 426). */
export function openApiDocument(routes: readonly MountedRoute[], options: OpenApiOptions): OpenApiDocument {
  assertEveryRouteDescribed(routes);
  const sockets = new Set(routes.filter((r) => r.method === "WS").map((r) => r.path));
  const paths: OpenApiDocument["paths"] = {};
  for (const route of routes) {
    const socket = sockets.has(route.path);
    if (socket && route.method !== "WS") continue; // the socket's plain GET: the same operation
    const method = socket ? "get" : route.method.toLowerCase();
    (paths[openApiPath(route.path)] ??= {})[method] = operationOf(route, socket, options);
  }
  const tags = [...new Set(Object.values(paths).flatMap((ops) => Object.values(ops).flatMap((o) => (o.tags as string[]) ?? [])))].map((name) => ({ name }));
  // Through JSON: the `t` schemas' symbol keys go, what is left is plain JSON Schema.
  return JSON.parse(JSON.stringify({
    openapi: "3.1.0",
    info: {
      title: "gridcast",
      version: options.version,
      description: "Grid searches and simulations of trading strategies, their progress over WebSockets, live games and deployed strategies. "
        + "Each operation names the role it needs (x-required-role: public, viewer, operator, admin); with --auth off (the default on loopback) every request acts as admin.",
    },
    tags,
    security: [{ bearerToken: [] }, { session: [] }],
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        bearerToken: { type: "http", scheme: "bearer", description: "an access token (`gridcast token create`)" },
        session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE, description: "a browser's session after POST /login; changes also carry its CSRF token" },
      },
    },
  }));
}
