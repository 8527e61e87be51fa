// The alerts banner every page shows admins (README "Performance history and alerts"): the
// active alerts of the `alerts` topic. The layout holds an empty banner; an admin's page socket
// also follows the topic, and its first message and every change fill it (hx-swap-oob on
// #alerts-banner); the same function renders it for the socket and for the ops page.
import { html, type Html } from "./html";
import { oobAttr } from "./live";

/** What the banner reads of an active alert (src/alerts ActiveAlert). */
export interface BannerAlert {
  name: string;
  message: string;
  since: string;
}

export function alertsBanner(alerts: readonly BannerAlert[], oob: boolean | string = false): Html {
  if (alerts.length === 0) return html`<div id="alerts-banner" class="alerts-banner" role="status" aria-live="polite"${oobAttr(oob)}></div>`;
  return html`<div id="alerts-banner" class="alerts-banner" role="status" aria-live="polite"${oobAttr(oob)}><strong>${alerts.length === 1 ? "Alert" : `${alerts.length} alerts`}:</strong>
<ul>${alerts.map((a) => html`<li data-alert="${a.name}">${a.message} <small>since ${a.since.slice(11, 19)} UTC</small></li>`)}</ul>
<a href="/ops">Ops</a></div>`;
}

/** The `alerts` topic's state as the page socket sends it. */
export function alertsBannerFragment(state: Record<string, unknown>): string {
  const alerts = Array.isArray(state.alerts) ? (state.alerts as BannerAlert[]) : [];
  return String(alertsBanner(alerts, true));
}

/** The empty banner the page's socket fills, for the layout (admins only). */
export const alertsSlot = (): Html => alertsBanner([]);
