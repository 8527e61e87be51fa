// GET /api/cluster (viewer, ROUTE_ACCESS): the nodes sharing this PostgreSQL, read from the store
// now; when it does not answer, the last list read, marked stale (/health shows that one as is).
import { Elysia } from "elysia";
import { doc, json } from "../openapi";
import { Cluster } from "./schemas";
import type { ClusterRegistry } from "../../cluster/registry";

export const clusterRoutes = (cluster: ClusterRegistry) =>
  new Elysia({ name: "cluster" }).get("/api/cluster", async ({ set }) => {
    set.headers["cache-control"] = "no-store";
    return cluster.refresh();
  }, { detail: doc({
    summary: "The nodes sharing this PostgreSQL (this node alone on PGlite)", tag: "ops",
    description: "A node drops out when its heartbeat is older than --lease-ms, and leaves at once when it stops cleanly. "
      + "`stale: true`: the store did not answer, the list is the last one read (at `as_of`).",
    responses: { 200: json(Cluster) },
  }) });
