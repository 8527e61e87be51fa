// The data page: stored games (paged), the import form, the live update status, and on an empty
// store a button that loads the demo data. updateStatusFragment is what its socket sends.
import { html, type Html } from "../html";
import { layout } from "../layout";
import { int, percent } from "../format";
import { liveIndicator, oobAttr, poller } from "../live";
import { csrfField, csrfQuery, mayOperate, type Viewer } from "../controls";

export interface GameRow { id: string; first_t: number; ticks: number; outcome: number; synthetic: boolean; imported_at: string }
export interface GamesView { games: GameRow[]; total: number; page: number; perPage: number }
export interface UpdateStatusView {
  is_running: boolean;
  message: string;
  progress?: { current: number; total: number };
  source?: string;
  updates?: { source: string; phase: "reading" | "waiting" | "storing"; progress: { current: number; total: number } }[];
  last?: { ok: boolean; source: string; games?: number; ticks?: number; error?: string; finished_at: string };
}
export interface ImportNotice { ok: boolean; message: string }

const PHASES = { reading: "reading", waiting: "waiting to store", storing: "storing" } as const;

/** Each update underway when there is more than one, or when the one has a phase worth saying. */
function underway(s: UpdateStatusView): Html | string {
  const list = s.updates ?? [];
  if (list.length === 0 || (list.length === 1 && list[0].phase === "reading")) return "";
  return html`<ul class="updates">${list.map((u) => html`<li><code>${u.source}</code> ${PHASES[u.phase]}${u.phase === "reading" && u.progress.total > 0 ? ` ${percent(u.progress.current, u.progress.total).toFixed(0)}%` : ""}</li>`)}</ul>`;
}

export function updateStatus(s: UpdateStatusView, oob = false): Html {
  const last = s.last;
  return html`<div id="update-status" class="update-status" data-running="${s.is_running ? "yes" : "no"}" data-finished="${last?.finished_at ?? ""}"${oobAttr(oob)}>
<p>${s.is_running ? html`<span class="badge badge-running">Importing</span> ${s.source ? html`<code>${s.source}</code>` : ""}` : html`<span class="badge">Idle</span>`} ${s.message}</p>
${s.is_running && s.progress && s.progress.total > 0 ? html`<progress max="100" value="${percent(s.progress.current, s.progress.total).toFixed(1)}" aria-label="Import progress">${percent(s.progress.current, s.progress.total).toFixed(0)}%</progress>` : ""}
${underway(s)}
${last ? html`<p class="${last.ok ? "ok" : "bad"}">Last update (${last.finished_at.replace("T", " ").slice(0, 19)} UTC, <code>${last.source}</code>): ${last.ok ? `${int(last.games ?? 0)} games, ${int(last.ticks ?? 0)} ticks stored` : html`failed: ${last.error ?? "unknown error"}`}</p>` : ""}
</div>`;
}

export const updateStatusFragment = (s: UpdateStatusView) => String(updateStatus(s, true));

/** The games; on an empty store, the demo button for a role that may load data. */
export function gamesTable(v: GamesView, viewer: Viewer): Html {
  const pages = Math.max(1, Math.ceil(v.total / v.perPage));
  const link = (p: number, label: string, rel: string) => html`<a href="/data?page=${p}" rel="${rel}">${label}</a>`;
  return html`<div id="games" hx-get="/data/games?page=${v.page}" hx-trigger="games-changed from:body" hx-swap="outerHTML">
<h2>Games <span class="muted">(${int(v.total)})</span></h2>
${v.total === 0
    ? mayOperate(viewer)
      ? html`<p class="muted">No games stored yet. Import a file below, or load the synthetic demo data.</p>
<form method="post" action="/data/demo" hx-post="/api/games/demo?games=200&amp;seed=1" hx-swap="none">${csrfField(viewer)}<button type="submit" class="primary">Load demo data (200 synthetic games)</button></form>`
      : html`<p class="muted">No games stored yet. Loading games needs the operator role.</p>`
    : html`<div class="table-wrap"><table class="games">
<thead><tr><th scope="col">Game</th><th scope="col" class="num">Ticks</th><th scope="col">Outcome</th><th scope="col" class="num">First t</th><th scope="col">Imported (UTC)</th></tr></thead>
<tbody>${v.games.map((g) => html`<tr><td>${g.id}${g.synthetic ? html` <span class="badge">synthetic</span>` : ""}</td><td class="num">${int(g.ticks)}</td><td>${g.outcome === 1 ? "Yes (1)" : "No (0)"}</td><td class="num">${g.first_t}</td><td class="when">${g.imported_at.replace("T", " ").slice(0, 19)}</td></tr>`)}</tbody>
</table></div>
<nav class="pager" aria-label="Pages of games">${v.page > 1 ? link(v.page - 1, "← Previous", "prev") : ""}<span>Page ${v.page} of ${pages}</span>${v.page < pages ? link(v.page + 1, "Next →", "next") : ""}</nav>`}
</div>`;
}

export function importNotice(n: ImportNotice | undefined): Html {
  return html`<div id="import-result" role="status" aria-live="polite">${n ? html`<p class="${n.ok ? "notice ok" : "error"}">${n.message}</p>` : ""}</div>`;
}

/**
 * The import form, for a role that may import. The token rides the action's query string (the
 * guard reads no multipart body) for a browser without scripts; htmx sends the header too.
 */
export function importForm(viewer: Viewer, notice?: ImportNotice): Html {
  if (!mayOperate(viewer)) {
    return html`<h2>Import games</h2><p class="role-note">Importing games needs the operator role; you are signed in as ${viewer?.role ?? "nobody"}.</p>`;
  }
  return html`<form class="import" method="post" action="/data/import${csrfQuery(viewer)}" enctype="multipart/form-data" hx-post="/data/import" hx-encoding="multipart/form-data" hx-target="#import-result" hx-swap="outerHTML">
<h2>Import games</h2>
<p class="muted">CSV (<code>game_id,t,price,fair,outcome</code>) or NDJSON with the same keys. A file is stored all or nothing; a game id already stored is replaced.</p>
<label for="import-file">Games file</label>
<input id="import-file" name="file" type="file" accept=".csv,.ndjson,.jsonl,text/csv,application/x-ndjson" required>
<button type="submit" class="primary">Import</button>
${importNotice(notice)}
</form>`;
}

export function dataPage(version: string, identity: Viewer, games: GamesView, status: UpdateStatusView, notice?: ImportNotice): Html {
  return layout({ title: "Data", version, active: "data", identity }, html`<section class="panel">
<div class="panel-head"><h1>Data</h1>${liveIndicator({ socket: "/pages/ws/update", poll: "/data/status" })}</div>
${updateStatus(status)}
${poller("/data/status")}
</section>
<section class="panel">${importForm(identity, notice)}</section>
<section class="panel">${gamesTable(games, identity)}</section>`);
}
