// Alerts on the daemon's own figures: each threshold (a setting; 0 turns it off) raises its alert
// the first time a reading is above it, and clears it only once readings have stayed at or under
// it for `clearAfterMs` (hysteresis: a figure hovering at the line does not flap). Raising is
// logged at warn, clearing at info; every change goes to `publish` (the `alerts` topic).
import type { Clock } from "../realtime/transport";

export const ALERT_NAMES = ["event_loop_lag", "publish_p99", "drops", "store_latency", "rss"] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** 0 turns an alert off. */
export interface Thresholds {
  eventLoopLagMs: number;
  publishP99Ms: number;
  dropsPerSecond: number;
  storeLatencyMs: number;
  rssBytes: number;
}

/** One reading of what the thresholds watch; null: no reading (nothing published, store not probed yet). */
export interface AlertFigures {
  eventLoopLagP99Ms: number | null;
  publishP99Ms: number | null;
  dropsPerSecond: number;
  storeLatencyMs: number | null;
  /** The last store round trip failed: over any store threshold, whatever its latency. */
  storeFailing: boolean;
  rssBytes: number;
}

export interface ActiveAlert {
  name: AlertName;
  /** What a person reads in the banner. */
  message: string;
  /** The latest reading (null: the store did not answer). */
  value: number | null;
  threshold: number;
  unit: "ms" | "per_second" | "bytes";
  /** ISO time it was raised. */
  since: string;
}

interface Rule {
  name: AlertName;
  unit: ActiveAlert["unit"];
  threshold: (t: Thresholds) => number;
  value: (f: AlertFigures) => number | null;
  over: (f: AlertFigures, threshold: number) => boolean;
  message: (value: number | null, threshold: number) => string;
}

const mib = (n: number) => `${Math.round(n / 1024 ** 2)} MiB`;
const above = (v: number | null, t: number) => v !== null && v > t;

const RULES: Rule[] = [
  { name: "event_loop_lag", unit: "ms", threshold: (t) => t.eventLoopLagMs, value: (f) => f.eventLoopLagP99Ms,
    over: (f, t) => above(f.eventLoopLagP99Ms, t), message: (v, t) => `Event-loop lag p99 is ${v} ms (threshold ${t} ms)` },
  { name: "publish_p99", unit: "ms", threshold: (t) => t.publishP99Ms, value: (f) => f.publishP99Ms,
    over: (f, t) => above(f.publishP99Ms, t), message: (v, t) => `Publish latency p99 is ${v} ms (threshold ${t} ms)` },
  { name: "drops", unit: "per_second", threshold: (t) => t.dropsPerSecond, value: (f) => f.dropsPerSecond,
    over: (f, t) => f.dropsPerSecond > t, message: (v, t) => `${v} messages/s dropped for slow subscribers (threshold ${t}/s)` },
  { name: "store_latency", unit: "ms", threshold: (t) => t.storeLatencyMs, value: (f) => (f.storeFailing ? null : f.storeLatencyMs),
    over: (f, t) => f.storeFailing || above(f.storeLatencyMs, t),
    message: (v, t) => (v === null ? `The store is not answering (threshold ${t} ms)` : `Store round trip is ${v} ms (threshold ${t} ms)`) },
  { name: "rss", unit: "bytes", threshold: (t) => t.rssBytes, value: (f) => f.rssBytes,
    over: (f, t) => f.rssBytes > t, message: (v, t) => `Resident memory is ${mib(v ?? 0)} (threshold ${mib(t)})` },
];

export interface AlertsLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface AlertsDeps {
  thresholds: Thresholds;
  clearAfterMs: number;
  clock: Clock;
  logger: AlertsLogger;
  /** Told the `alerts` topic's new state on every reading that changed or moved an active alert. */
  publish?: (state: AlertsState) => void;
}

/** The `alerts` topic's state. */
export interface AlertsState {
  [k: string]: unknown;
  type: "alerts";
  alerts: ActiveAlert[];
}

export interface Alerts {
  evaluate(f: AlertFigures): ActiveAlert[];
  active(): ActiveAlert[];
  state(): AlertsState;
}

export function createAlerts(deps: AlertsDeps): Alerts {
  const { clock, logger, thresholds } = deps;
  const live = new Map<AlertName, { alert: ActiveAlert; underSince: number | null }>();
  const active = () => RULES.filter((r) => live.has(r.name)).map((r) => ({ ...live.get(r.name)!.alert }));
  const state = (): AlertsState => ({ type: "alerts", alerts: active() });
  return {
    evaluate(f) {
      const now = clock.now();
      let moved = false;
      for (const rule of RULES) {
        const threshold = rule.threshold(thresholds);
        if (!(threshold > 0)) continue;
        const value = rule.value(f);
        const current = live.get(rule.name);
        if (rule.over(f, threshold)) {
          const alert: ActiveAlert = {
            name: rule.name, message: rule.message(value, threshold), value, threshold, unit: rule.unit,
            since: current?.alert.since ?? new Date(now).toISOString(),
          };
          if (!current) logger.warn("alert raised", { alert: rule.name, value, threshold, message: alert.message });
          live.set(rule.name, { alert, underSince: null });
          moved = true;
        } else if (current) {
          current.underSince ??= now;
          if (now - current.underSince >= deps.clearAfterMs) {
            live.delete(rule.name);
            logger.info("alert cleared", { alert: rule.name, value, threshold, raised: current.alert.since });
          }
          moved = true;
        }
      }
      if (moved) deps.publish?.(state());
      return active();
    },
    active,
    state,
  };
}
