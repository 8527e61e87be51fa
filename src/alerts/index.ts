// Alerts on the daemon's figures (README "Performance history and alerts"): the thresholds and
// their hysteresis (thresholds.ts) and the `alerts` state topic they are pushed on.
import type { Resolution } from "../realtime/topics";
import type { Alerts } from "./thresholds";

export { createAlerts, ALERT_NAMES, type ActiveAlert, type AlertFigures, type Alerts, type AlertsState, type Thresholds } from "./thresholds";

/** A state topic on the hub (and on /ws): `{"type": "alerts", "alerts": [...]}`, the active alerts. */
export const ALERTS_TOPIC = "alerts";

/** The topic's resolution for the hub's resolveTopic chain; undefined: not this topic. */
export const resolveAlertsTopic = (alerts: Alerts, topic: string): Resolution | undefined =>
  topic === ALERTS_TOPIC ? { ok: true, initial: alerts.state() } : undefined;
