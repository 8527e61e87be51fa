// The dashboard: health in one line, running and recent jobs with live progress, rate and ETA,
// and the new grid search form. dashboardFragment is what its socket and its poll send.
import { html, type Html } from "../html";
import { layout } from "../layout";
import { compact, duration, percent } from "../format";
import { liveIndicator, oobAttr, poller } from "../live";
import { scrollTable } from "../scroll-table";
import { progressBar, statusBadge } from "./job";
import { gridForm, type GridFormView } from "./grid-form";
import type { Viewer } from "../controls";

export interface HealthLine {
  database: { kind: string; healthy: boolean; state: string };
  workers: { size: number; busy: number; healthy: boolean };
  connections: number;
}

export interface DashboardJobView {
  id: string;
  kind: string;
  status: string;
  current: number;
  total: number;
  current_combo: string;
  created_at: string;
  rate?: number;
  etaMs?: number;
}

export interface DashboardView {
  jobs: DashboardJobView[];
  health: HealthLine;
}

const KIND: Record<string, string> = { grid_search: "Grid search", simulation: "Simulation" };

export function healthLine(h: HealthLine, oob = false): Html {
  const mark = (ok: boolean, bad = "down") => (ok ? html`<span class="ok">ok</span>` : html`<span class="bad">${bad}</span>`);
  return html`<p class="health" id="health-line"${oobAttr(oob)}>Database ${h.database.kind} ${mark(h.database.healthy, h.database.state)} ·
workers ${h.workers.size} ${mark(h.workers.healthy)} (${h.workers.busy} busy) ·
connections ${h.connections}</p>`;
}

function jobRow(j: DashboardJobView): Html {
  const pct = percent(j.current, j.total);
  const href = `/jobs/${encodeURIComponent(j.id)}`;
  const running = j.status === "running";
  return html`<tr id="dj-${j.id}" data-status="${j.status}">
<td><a href="${href}">${KIND[j.kind] ?? "Job"} <code class="id">${j.id.slice(0, 8)}</code></a></td>
<td>${statusBadge(j.status)}</td>
<td class="bar">${progressBar(j.current, j.total, `Progress of job ${j.id.slice(0, 8)}`)}<span class="pct">${pct.toFixed(1)}%</span></td>
<td class="num">${running && j.rate !== undefined ? `${compact(j.rate)}/s` : "–"}</td>
<td class="num">${running ? duration(j.etaMs) : "–"}</td>
<td class="when">${j.created_at.replace("T", " ").slice(0, 19)}</td>
</tr>`;
}

export function dashboardJobs(jobs: DashboardJobView[], oob: boolean | string = false): Html {
  return html`<div id="dashboard-jobs"${oobAttr(oob)}>${jobs.length === 0
    ? html`<p class="muted">No jobs yet. Start a grid search below (load games on the <a href="/data">Data</a> page first).</p>`
    : scrollTable("Jobs", html`<table class="jobs">
<thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col" class="num">Rate</th><th scope="col" class="num">ETA</th><th scope="col">Submitted (UTC)</th></tr></thead>
<tbody>${jobs.map(jobRow)}</tbody>
</table>`)}</div>`;
}

/** Socket and poll message. Morphing keeps keyboard focus on a job link across updates. */
export function dashboardFragment(view: DashboardView): string {
  return String(html`${dashboardJobs(view.jobs, "outerMorph")}${healthLine(view.health, true)}`);
}

export function dashboardPage(version: string, identity: Viewer, view: DashboardView, form: GridFormView): Html {
  return layout({ title: "Dashboard", version, active: "dashboard", identity }, html`<section class="panel">
<div class="panel-head"><h1>Dashboard</h1>${liveIndicator({ socket: "/pages/ws/dashboard", poll: "/pages/dashboard" })}</div>
${healthLine(view.health)}
<h2>Jobs</h2>
${dashboardJobs(view.jobs)}
${poller("/pages/dashboard")}
</section>
<section class="panel">${gridForm(form, identity)}</section>`);
}
