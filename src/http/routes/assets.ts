// GET /static/<name>: only names in the embedded asset map; anything else is a 404.
import { Elysia } from "elysia";
import { doc } from "../openapi";
import { assetResponse } from "../assets";
import { notFound } from "../../errors";

export const assetRoutes = () =>
  new Elysia({ name: "assets" }).get("/static/*", ({ params }) => {
    const response = assetResponse(params["*"]);
    if (!response) throw notFound("No such asset");
    return response;
  }, { detail: doc({
    summary: "An embedded asset (htmx, its hx-ws extension, the pages' script, style and icon)", tag: "assets",
    responses: { 200: { description: "the file, with its type", content: { "text/javascript": { schema: { type: "string" } }, "text/css": { schema: { type: "string" } }, "image/svg+xml": { schema: { type: "string" } } } }, 404: "No such asset" },
  }) });
