// GET /openapi.json and /docs: the API described from the mounted routes themselves
// (src/http/openapi.ts), as a document for programs and as a page for people, from the binary's
// own assets only. Both need a viewer (ROUTE_ACCESS): whoever can call the API may read it.
import { Elysia, t } from "elysia";
import { docsPage } from "../../../views/pages/docs";
import { doc, html, json, openApiDocument, type MountedRoute, type OpenApiOptions } from "../openapi";
import { identityOf } from "../request-identity";
import { htmlResponse } from "../respond";

export interface DocsDeps extends OpenApiOptions {
  /** Every mounted route, read when asked (app.routes): routes mounted after these are in it too. */
  routes: () => readonly MountedRoute[];
}

export function docsRoutes(deps: DocsDeps) {
  // Made on each request: cheap (a few ms), and it follows settings a reload changes (--metrics-public).
  const document = () => openApiDocument(deps.routes(), deps);
  return new Elysia({ name: "docs" })
    .get("/openapi.json", () => document(), { detail: doc({
      summary: "This document: every route, its parameters, bodies, answers and the role it needs", tag: "docs",
      responses: { 200: json(t.Object({ openapi: t.Literal("3.1.0") }, { additionalProperties: true }), "OpenAPI 3.1") },
    }) })
    .get("/docs", ({ request }) => htmlResponse(docsPage(deps.version, identityOf(request), document())), { detail: doc({
      summary: "This document as a page", tag: "docs", responses: { 200: html("the page") },
    }) });
}
