// GET /static/<name>: only names in the embedded asset map; anything else is a 404.
import { Elysia } from "elysia";
import { assetResponse } from "../assets";
import { notFound } from "../../errors";

export const assetRoutes = () =>
  new Elysia({ name: "assets" }).get("/static/*", ({ params }) => {
    const response = assetResponse(params["*"]);
    if (!response) throw notFound("No such asset");
    return response;
  });
