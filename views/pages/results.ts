// A finished job's results: for a grid search the heatmap, the top pairs and the final selection;
// for a simulation the equity curve and per-game results. Downloads for both.
import { html, type Html } from "../html";
import { int, pnl, threshold, winRate } from "../format";
import { heatmapSvg } from "../svg/heatmap";
import { equitySvg } from "../svg/equity";
import { scrollTable } from "../scroll-table";
import { csrfField, mayOperate, type Viewer } from "../controls";

export interface Figures { pnl: number; trades: number; wins: number }
export interface PairResult { entry: number; exit: number; train: Figures; valid: Figures; test: Figures }
export interface GridResultsView {
  id: string;
  games: number;
  pairs: PairResult[];
  finalSelection: PairResult | null;
  fee: number;
  /** Who reads them: "Simulate this pair" shows only to a role that may start jobs. */
  viewer: Viewer;
}
export interface SimulationGame { game_id: string; pnl: number; trades: number; wins: number; equity: number }
export interface SimulationResultsView {
  id: string;
  entry: number;
  exit: number;
  games: SimulationGame[];
  total: Figures;
}

const TOP = 10;
/** Rows of per-game results shown in the page; the downloads hold all of them. */
export const SIMULATION_ROWS = 50;

const fig = (f: Figures) => html`<td class="num">${pnl(f.pnl)}</td><td class="num">${int(f.trades)}</td><td class="num">${winRate(f.wins, f.trades)}</td>`;

function downloads(id: string): Html {
  const q = encodeURIComponent(id);
  return html`<p class="actions"><a class="button" href="/jobs/${q}/results.csv" download>Download CSV</a> <a class="button" href="/jobs/${q}/results.json" download>Download JSON</a></p>`;
}

/** The pairs with the highest train P&L, ties broken as the final selection is (smaller entry, then exit). */
/** Best train P&L first; ties to the smaller entry, then exit (the selection's own order). */
const better = (a: PairResult, b: PairResult) => b.train.pnl - a.train.pnl || a.entry - b.entry || a.exit - b.exit;

/** The n best pairs, in order. One pass keeping the n best seen, not a sort of every pair: a
 *  500k-pair grid took ~1.8 s of the main thread to sort, this takes a few ms. */
export function topPairs(pairs: PairResult[], n = TOP): PairResult[] {
  const top: PairResult[] = [];
  for (const p of pairs) {
    if (top.length === n && better(p, top[n - 1]) >= 0) continue;
    let i = top.length < n ? top.length : n - 1;
    while (i > 0 && better(p, top[i - 1]) < 0) i--;
    top.splice(i, 0, p);
    if (top.length > n) top.pop();
  }
  return top;
}

/** "Deploy this pair": the final selection and fee of this grid search as a live strategy (live.md "Pages"). */
function deployPair(v: GridResultsView): Html {
  return html`<form method="post" action="/live/strategies" class="deploy-pair">${csrfField(v.viewer)}<input type="hidden" name="from_job" value="${v.id}">
<label for="deploy-pair-name">Strategy name</label> <input id="deploy-pair-name" name="name" type="text" maxlength="100" required value="grid ${v.id.slice(0, 8)}">
<button type="submit" class="primary">Deploy this pair</button></form>`;
}

export function gridResults(v: GridResultsView): Html {
  const sel = v.finalSelection;
  const same = (p: PairResult) => sel !== null && p.entry === sel.entry && p.exit === sel.exit;
  return html`<h2>Results</h2>
${sel
    ? html`<p class="selection">Final selection: <strong>entry ${threshold(sel.entry)}, exit ${threshold(sel.exit)}</strong> · train ${pnl(sel.train.pnl)} · valid ${pnl(sel.valid.pnl)} · <strong>test ${pnl(sel.test.pnl)}</strong> (${int(sel.test.trades)} trades)</p>
${mayOperate(v.viewer) ? html`<form method="post" action="/simulation" class="inline">${csrfField(v.viewer)}<input type="hidden" name="entry" value="${sel.entry}"><input type="hidden" name="exit" value="${sel.exit}"><input type="hidden" name="fee" value="${v.fee}"><button type="submit">Simulate this pair on all games</button></form>
${deployPair(v)}` : ""}`
    : html`<p class="muted">No pair was selected.</p>`}
${heatmapSvg(v.pairs.map((p) => ({ entry: p.entry, exit: p.exit, pnl: p.train.pnl })), sel)}
<h3>Top ${Math.min(TOP, v.pairs.length)} pairs by train P&amp;L <span class="muted">(of ${int(v.pairs.length)}, over ${int(v.games)} games)</span></h3>
${scrollTable("Top pairs", html`<table class="pairs">
<thead><tr><th scope="col">Entry</th><th scope="col">Exit</th><th scope="colgroup" colspan="3">Train</th><th scope="colgroup" colspan="3">Valid</th><th scope="colgroup" colspan="3">Test</th></tr>
<tr class="sub"><th></th><th></th>${["Train", "Valid", "Test"].map(() => html`<th scope="col" class="num">P&amp;L</th><th scope="col" class="num">Trades</th><th scope="col" class="num">Win</th>`)}</tr></thead>
<tbody>${topPairs(v.pairs).map((p) => html`<tr${same(p) ? html` class="picked" aria-label="final selection"` : ""}><td>${threshold(p.entry)}</td><td>${threshold(p.exit)}</td>${fig(p.train)}${fig(p.valid)}${fig(p.test)}</tr>`)}</tbody>
</table>`)}
${downloads(v.id)}`;
}

export function simulationResults(v: SimulationResultsView): Html {
  const shown = v.games.slice(0, SIMULATION_ROWS);
  return html`<h2>Results</h2>
<p class="selection">Entry ${threshold(v.entry)}, exit ${threshold(v.exit)} over ${int(v.games.length)} games: <strong>${pnl(v.total.pnl)}</strong> from ${int(v.total.trades)} trades (${winRate(v.total.wins, v.total.trades)} won)</p>
${equitySvg(v.games.map((g) => g.equity))}
<h3>Per game${v.games.length > shown.length ? html` <span class="muted">(first ${shown.length} of ${int(v.games.length)}; the downloads hold all)</span>` : ""}</h3>
${scrollTable("Per-game results", html`<table class="games">
<thead><tr><th scope="col">Game</th><th scope="col" class="num">P&amp;L</th><th scope="col" class="num">Trades</th><th scope="col" class="num">Win</th><th scope="col" class="num">Equity</th></tr></thead>
<tbody>${shown.map((g) => html`<tr><td>${g.game_id}</td>${fig(g)}<td class="num">${pnl(g.equity)}</td></tr>`)}</tbody>
</table>`)}
${downloads(v.id)}`;
}

/** CSV of a grid search's pairs (one row per pair) or a simulation's games. */
export function gridResultsCsv(pairs: PairResult[]): string {
  let out = "entry,exit,train_pnl,train_trades,train_wins,valid_pnl,valid_trades,valid_wins,test_pnl,test_trades,test_wins\n";
  for (const p of pairs) {
    out += `${p.entry},${p.exit},${p.train.pnl},${p.train.trades},${p.train.wins},${p.valid.pnl},${p.valid.trades},${p.valid.wins},${p.test.pnl},${p.test.trades},${p.test.wins}\n`;
  }
  return out;
}

export function simulationResultsCsv(games: SimulationGame[]): string {
  const field = (s: string) => (/[",\r\n]|^\s|\s$|^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  let out = "game_id,pnl,trades,wins,equity\n";
  for (const g of games) out += `${field(g.game_id)},${g.pnl},${g.trades},${g.wins},${g.equity}\n`;
  return out;
}
