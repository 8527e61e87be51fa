// The one live socket of a page, its connection indicator, and the HTTP fallback poll.
// The socket element is small and holds no content: messages carry only hx-swap-oob elements,
// so hx-ws never swaps into it. static/app.js moves the indicator between Connecting, Live,
// Offline and Final, and fires the poller every 2 s only while the indicator says Offline (an
// event from the script, not an htmx trigger filter: filters are evaluated with Function, which
// the Content-Security-Policy forbids).
import { html, type Html } from "./html";

export interface LiveOptions {
  /** The socket URL naming what the page watches; null when there is nothing left to watch. */
  socket: string | null;
  /** The HTTP fragment endpoint polled (with hx-swap="none": its OOB elements land) while offline. */
  poll: string | null;
}

export function liveIndicator(options: LiveOptions): Html {
  if (!options.socket) {
    return html`<div class="live" id="live" data-live="final"><span class="live-dot" aria-hidden="true"></span><span class="live-text" role="status">Final</span></div>`;
  }
  return html`<div class="live" id="live" data-live="connecting" hx-ws:connect="${options.socket}"${options.poll ? html` data-poll="${options.poll}"` : ""}><span class="live-dot" aria-hidden="true"></span><span class="live-text" role="status" aria-live="polite">Connecting</span></div>`;
}

/** Polls only while the socket is down (app.js sends `gridcast-poll` every 2 s while the indicator says Offline). */
export function poller(url: string | null): Html {
  if (!url) return html``;
  return html`<div id="poller" hidden hx-get="${url}" hx-trigger="gridcast-poll" hx-swap="none"></div>`;
}

/** `hx-swap-oob` for a socket or poll message; nothing on the first page load. */
export const oobAttr = (oob: boolean | string) => (oob ? html` hx-swap-oob="${oob === true ? "true" : oob}"` : html``);
