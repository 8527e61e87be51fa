// The dashboard page: health in one line and, as later issues land, jobs with live progress.
import { html, type Html } from "../html";
import { layout } from "../layout";
import type { HealthReport } from "../../src/server/health";

export function healthLine(report: HealthReport): Html {
  const { database, workers, websocket } = report.services;
  const mark = (ok: boolean) => (ok ? html`<span class="ok">ok</span>` : html`<span class="bad">down</span>`);
  return html`<p class="health" id="health-line">Database ${database.kind} ${mark(database.healthy)} ·
workers ${String(workers.size ?? 0)} ${mark(workers.healthy)} ·
connections ${websocket.activeConnections}</p>`;
}

export function dashboardPage(version: string, report: HealthReport): Html {
  return layout({ title: "Dashboard", version, active: "dashboard" }, html`<section class="panel">
<h1>Dashboard</h1>
${healthLine(report)}
</section>`);
}
