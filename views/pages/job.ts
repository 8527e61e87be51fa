// The job page and its fragments. jobLiveFragment is what the page socket and the fallback poll
// send (rendered once per topic per tick); the page's first load renders the same pieces in place.
import { html, type Html } from "../html";
import { layout } from "../layout";
import { compact, duration, int, percent, threshold } from "../format";
import { liveIndicator, oobAttr, poller } from "../live";
import { isTerminal } from "../../src/jobs/states";
import { csrfField, type Viewer } from "../controls";

/** A plain snapshot of a job's progress plus the timing the server measured. */
export interface JobLiveView {
  id: string;
  status: string;
  current: number;
  total: number;
  current_combo: string;
  error?: string;
  /** Since the job started running (to its end once finished). */
  elapsedMs?: number;
  /** Pair-game evaluations per second, over the last few seconds. */
  rate?: number;
  etaMs?: number;
}

export interface JobPageView {
  live: JobLiveView;
  kind: "grid_search" | "simulation";
  params: Record<string, unknown>;
  games: number;
  createdAt: Date;
  /** The results fragment when the job is complete at page load. */
  results?: Html;
  /** May the viewer cancel this job (an operator their own, an admin any)? The guard decides again on the POST. */
  canCancel: boolean;
}

const STATUS_LABEL: Record<string, string> = {
  queued: "Queued", running: "Running", complete: "Complete", error: "Failed", cancelled: "Cancelled", not_found: "Not started",
};

export const statusBadge = (status: string) => html`<span class="badge badge-${status}">${STATUS_LABEL[status] ?? status}</span>`;

/** The bar: a native <progress> (role progressbar, value/max exposed to assistive tech). */
export function progressBar(current: number, total: number, label: string): Html {
  const pct = percent(current, total);
  return html`<progress max="100" value="${pct.toFixed(1)}" aria-label="${label}" aria-valuetext="${pct.toFixed(1)}%">${pct.toFixed(1)}%</progress>`;
}

export function jobProgress(v: JobLiveView, oob = false): Html {
  const terminal = isTerminal(v.status);
  const pct = percent(v.current, v.total);
  return html`<div id="job-progress" class="job-progress" data-status="${v.status}"${terminal ? html` data-terminal` : ""}${oobAttr(oob)}>
<p class="status-line">${statusBadge(v.status)} <span class="pct">${pct.toFixed(1)}%</span> <span class="muted">${int(v.current)} of ${int(v.total)} pair-game evaluations</span></p>
${progressBar(v.current, v.total, "Job progress")}
<dl class="figures">
<div><dt>Current pair</dt><dd class="combo">${v.current_combo || "–"}</dd></div>
<div><dt>Rate</dt><dd>${v.rate !== undefined && v.status === "running" ? `${compact(v.rate)}/s` : "–"}</dd></div>
<div><dt>ETA</dt><dd>${v.status === "running" ? duration(v.etaMs) : terminal ? "done" : "–"}</dd></div>
<div><dt>Elapsed</dt><dd>${duration(v.elapsedMs)}</dd></div>
</dl>
${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ""}
</div>`;
}

/**
 * The job's buttons. Terminal: the downloads (what the socket sends, the same for every viewer).
 * Running: the cancel button, only for a viewer who may cancel this job.
 */
export function jobActions(v: JobLiveView, oob = false, cancel: { viewer: Viewer } | null = null): Html {
  const terminal = isTerminal(v.status);
  const id = encodeURIComponent(v.id);
  return html`<div id="job-actions" class="actions"${oobAttr(oob)}>${terminal
    ? v.status === "complete"
      ? html`<a class="button" href="/jobs/${id}/results.csv" download>Download CSV</a> <a class="button" href="/jobs/${id}/results.json" download>Download JSON</a>`
      : html`<a class="button" href="/grid-search/new">New grid search</a>`
    : cancel
      ? html`<form method="post" action="/jobs/${id}/cancel" hx-post="/jobs/${id}/cancel" hx-swap="none">${csrfField(cancel.viewer)}<button type="submit" class="danger">Cancel job</button></form>`
      : ""}</div>`;
}

/**
 * Where the results go. Until they are in the page it holds #job-results-pending; the complete
 * state replaces that with a loader that fetches the results once. Later messages find no
 * #job-results-pending and change nothing, so the results load once however often they arrive.
 */
export function resultsLoader(v: JobLiveView, oob = false): Html {
  if (v.status !== "complete") {
    const why = v.status === "cancelled" ? "the job was cancelled" : v.status === "error" ? "the job failed" : "";
    return html`<div id="job-results-pending"${oobAttr(oob)}>${why ? html`<p class="muted">No results: ${why}.</p>` : ""}</div>`;
  }
  return html`<div id="job-results-pending"${oobAttr(oob)} hx-get="/jobs/${encodeURIComponent(v.id)}/results" hx-trigger="load" hx-target="#job-results" hx-swap="innerHTML"><p class="muted">Loading results…</p></div>`;
}

/** The socket/poll message: progress always; actions and the results loader once terminal. */
export function jobLiveFragment(v: JobLiveView): string {
  const terminal = isTerminal(v.status);
  return String(html`${jobProgress(v, true)}${terminal ? html`${jobActions(v, true)}${resultsLoader(v, true)}` : ""}`);
}

function paramsTable(kind: JobPageView["kind"], params: Record<string, unknown>, games: number): Html {
  const num = (k: string) => (typeof params[k] === "number" ? threshold(params[k] as number) : "–");
  const rows: [string, string][] = kind === "grid_search"
    ? [
        ["Entry", `${num("entry_start")} to ${num("entry_stop")} step ${num("entry_step")}`],
        ["Exit", `${num("exit_start")} to ${num("exit_stop")} step ${num("exit_step")}`],
        ["Fee", num("fee")],
        ["Split", `train ${num("train_fraction")}, valid ${num("valid_fraction")}, test the rest`],
        ["Games", int(games)],
      ]
    : [["Entry", num("entry")], ["Exit", num("exit")], ["Fee", num("fee")], ["Games", int(games)]];
  return html`<dl class="params">${rows.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

export function jobPage(version: string, identity: Viewer, p: JobPageView): Html {
  const v = p.live;
  const terminal = isTerminal(v.status);
  const id = encodeURIComponent(v.id);
  const title = p.kind === "grid_search" ? "Grid search" : "Simulation";
  return layout({
    title: `${title} ${v.id.slice(0, 8)}`, version, active: "dashboard", identity,
    // Without scripts a running job's page still moves: the browser reloads it.
    head: terminal ? undefined : html`<noscript><meta http-equiv="refresh" content="5"></noscript>`,
  }, html`<section class="panel job" aria-labelledby="job-title">
<div class="panel-head"><h1 id="job-title">${title} <code class="id">${v.id}</code></h1>${liveIndicator({ socket: terminal ? null : `/pages/ws/jobs/${id}`, poll: `/jobs/${id}/live` })}</div>
<p class="muted">Submitted ${p.createdAt.toISOString().replace("T", " ").slice(0, 19)} UTC</p>
${paramsTable(p.kind, p.params, p.games)}
${jobProgress(v)}
${jobActions(v, false, p.canCancel ? { viewer: identity } : null)}
${poller(terminal ? null : `/jobs/${id}/live`)}
</section>
<section class="panel" id="job-results" aria-label="Results">${p.results ?? resultsLoader(v)}</section>`);
}
