// The protocol's sockets as the source systems' clients open them (protocol.md), and the realtime
// status readings. Mounted by src/http/routes/index.ts (and by the realtime tests' small app).
import type { AnyElysia } from "elysia";
import { jobTopic, LEGACY_FORMAT, UPDATE_TOPIC, type Realtime } from "../../realtime";

export const jobOfParams = (p: Record<string, string>) => jobTopic(p.id ?? "");

export function mountProtocolRoutes(app: AnyElysia, realtime: Realtime): void {
  realtime.muxSocket("/ws");
  realtime.topicSocket("/ws/grid-search/:id", { format: LEGACY_FORMAT, topic: jobOfParams, endWithJob: true });
  realtime.topicSocket("/ws/simulation/:id", { format: LEGACY_FORMAT, topic: jobOfParams, endWithJob: true });
  realtime.topicSocket("/ws/update/status", { format: LEGACY_FORMAT, topic: () => UPDATE_TOPIC });
  app.get("/api/websocket/status", () => realtime.status());
  app.get("/ws/stats", () => realtime.stats());
  app.get("/metrics", () => realtime.prometheus());
}
