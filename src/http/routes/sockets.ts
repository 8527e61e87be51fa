// The protocol's sockets as the source systems' clients open them (protocol.md), and the realtime
// status readings. Mounted by src/http/routes/index.ts (and by the realtime tests' small app).
import type { AnyElysia } from "elysia";
import { jobTopic, LEGACY_FORMAT, UPDATE_TOPIC, type Realtime } from "../../realtime";
import { doc, json } from "../openapi";
import { WebSocketStatus, WsStats } from "./schemas";

export const jobOfParams = (p: Record<string, string>) => jobTopic(p.id ?? "");

export function mountProtocolRoutes(app: AnyElysia, realtime: Realtime): void {
  realtime.muxSocket("/ws");
  realtime.topicSocket("/ws/grid-search/:id", { format: LEGACY_FORMAT, topic: jobOfParams, endWithJob: true });
  realtime.topicSocket("/ws/simulation/:id", { format: LEGACY_FORMAT, topic: jobOfParams, endWithJob: true });
  realtime.topicSocket("/ws/update/status", { format: LEGACY_FORMAT, topic: () => UPDATE_TOPIC });
  app.get("/api/websocket/status", () => realtime.status(), { detail: doc({
    summary: "Every socket connection, with its client", tag: "realtime", responses: { 200: json(WebSocketStatus) },
  }) });
  app.get("/ws/stats", () => realtime.stats(), { detail: doc({
    summary: "Socket counts by topic, role, tier and endpoint", tag: "realtime", responses: { 200: json(WsStats) },
  }) });
  app.get("/metrics", () => realtime.prometheus(), { detail: doc({
    summary: "Prometheus metrics (--metrics-public opens it to scrapers without a token)", tag: "realtime",
    responses: { 200: { description: "Prometheus text format 0.0.4", content: { "text/plain": { schema: { type: "string" } } } } },
  }) });
}
