// Public surface of the realtime module: what src/main.ts and the pages wire together.
//
//   const settings = resolveRealtimeSettings({ allowedOrigins: config.allowedOrigins });
//   const transport = createLateTransport();                 // bound to Bun's server on start
//   const hub = createHub({ transport, tickMs: settings.tickMs, logger, retainTerminalTopics: settings.retainTerminalTopics,
//     resolveTopic: (t) => known(t) ?? defaultResolveTopic(t) });
//   const registry = createRegistry({ maxConnections: settings.maxConnections,
//     maxConnectionsPerIp: settings.maxConnectionsPerIp, published: hub.published, logger });
//   const app = new Elysia({ websocket: websocketOptions(settings) });
//   const realtime = mountRealtime(app, { hub, registry, settings, transport, logger, collect });
//   hub.set(jobTopic(id), snapshot);  hub.set(UPDATE_TOPIC, { is_running, message });
//   await realtime.shutdown();  // then app.stop()
export { createHub, type EmitOptions, type Hub, type HubDeps, type HubStats, type PublishEvent, type Snapshot, type TierDelay } from "./hub";
export { createRegistry, type Registry, type Connection, type ConnectionInfo, type WebSocketStatus, type WsStats } from "./registry";
export { mountRealtime, type MountOptions, type Realtime, type TopicSocketOptions } from "./elysia";
export { createMetricsPublisher, metricsUpdate, type CollectMetrics, type MetricsPublisher, type RealtimeFigures } from "./metrics";
export { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus";
export { parseClientMessage, serverMessages, type ClientMessage } from "./protocol";
export { resolveRealtimeSettings, websocketOptions, REALTIME_DEFAULTS, RealtimeSettingsError, type RealtimeSettings } from "./settings";
export { CLOSE } from "./sockets";
export { LEGACY_FORMAT, type Render } from "./formats";
export {
  defaultResolveTopic, jobIdOf, jobTopic, liveGameTopic, strategySignalsTopic, wireTopic, LIVE_TOPIC, METRICS_TOPIC, SIGNALS_TOPIC,
  UPDATE_TOPIC, type Resolution, type State,
} from "./topics";
export { createLateTransport, type Clock, type LateTransport, type RealtimeLogger, type Transport } from "./transport";
