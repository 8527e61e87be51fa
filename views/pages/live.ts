// The live pages (live.md "Pages"): /live lists the live games with a line of price and fair that
// grows, the deployed strategies with their running P&L and the latest signals, and holds the
// replay and deploy forms; /live/{game_id} draws one game with its signals. Each fragment is one
// function used for the first load and for the page socket (hx-swap-oob), fed by the page topics
// of src/page-fragments/live-pages.ts.
import { html, type Html } from "../html";
import { layout } from "../layout";
import { int, pnl, threshold, winRate } from "../format";
import { liveIndicator, oobAttr, poller } from "../live";
import { scrollTable } from "../scroll-table";
import { csrfField, mayOperate, shownName, type Viewer } from "../controls";
import { chartLegend, gameChartSvg, MARKER_NAME, sparklineSvg, type MarkerAction, type Series, type Spark } from "../svg/live-lines";
import type { StrategyJson, StrategyTotals } from "../../src/live/strategies";

export interface LiveGameRow {
  game_id: string;
  ticks: number;
  /** The last tick. */
  t: number;
  price: number;
  fair: number;
  /** fair - price at the last tick: what a strategy compares with its entry and exit. */
  edge: number;
  spark: Spark;
}

/** A deployed strategy as the page shows it: the API's fields and its totals so far. */
export type LiveStrategyRow = Omit<StrategyJson, "created_at" | "stopped_at"> & Omit<StrategyTotals, "games">;

export interface LiveSignalRow {
  id: number;
  strategy_id: number;
  /** The strategy's name when known here (else its id is shown). */
  strategy_name: string | null;
  game_id: string;
  action: MarkerAction;
  t: number;
  price: number;
  fair: number;
  edge: number;
  pnl: number | null;
  at: string;
}

export interface LivePageView {
  games: LiveGameRow[];
  /** Live games beyond those listed. */
  more_games: number;
  strategies: LiveStrategyRow[];
  /** Newest first. */
  signals: LiveSignalRow[];
}

export interface LiveGameView {
  game_id: string;
  series: Series;
  /** In id order (oldest first): the chart's markers. */
  signals: LiveSignalRow[];
  /** Settled outcome; null while live. */
  outcome: 0 | 1 | null;
}

/** A first load for an identity whose feed runs late (starter): the socket's first message fills it. */
export interface Pending { pending: true }
const isPending = (v: unknown): v is Pending => typeof v === "object" && v !== null && (v as Pending).pending === true;

const gameHref = (id: string) => `/live/${encodeURIComponent(id)}`;
const price = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const fair = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : "–");
const edge = (x: number) => (Number.isFinite(x) ? `${x > 0 ? "+" : x < 0 ? "−" : ""}${Math.abs(x).toFixed(4)}` : "–");
const clock = (iso: string) => iso.slice(11, 19);
const GLYPH: Record<MarkerAction, string> = { open_long: "▲", open_short: "▼", close: "●", settle: "■" };

export function actionLabel(action: MarkerAction): Html {
  return html`<span class="action action-${action}"><span aria-hidden="true">${GLYPH[action]}</span> ${MARKER_NAME[action]}</span>`;
}

const waiting = (what: string) => html`<p class="muted">Loading ${what} (your tier sees the live feed late)…</p>`;

export function liveGamesTable(v: LivePageView | Pending, oob: boolean | string = false): Html {
  return html`<div id="live-games"${oobAttr(oob)}>${isPending(v)
    ? waiting("the live games")
    : v.games.length === 0
      ? html`<p class="muted">No live games. Ticks sent to <code>POST /api/live/ticks</code> start one; the replay form below replays stored games.</p>`
      : html`${scrollTable("Live games", html`<table class="live-games">
<thead><tr><th scope="col">Game</th><th scope="col" class="num">Ticks</th><th scope="col" class="num">Price</th><th scope="col" class="num">Fair</th><th scope="col" class="num">Edge</th><th scope="col">Price <span class="key-price" aria-hidden="true"></span> and fair <span class="key-fair" aria-hidden="true"></span></th></tr></thead>
<tbody>${v.games.map((g) => html`<tr data-game="${g.game_id}">
<td><a href="${gameHref(g.game_id)}">${g.game_id}</a></td>
<td class="num">${int(g.ticks)}</td><td class="num">${price(g.price)}</td><td class="num">${fair(g.fair)}</td><td class="num">${edge(g.edge)}</td>
<td class="spark-cell">${sparklineSvg(g.spark, `Price and fair of ${g.game_id} over ${g.ticks} ticks`)}</td>
</tr>`)}</tbody>
</table>`)}${v.more_games > 0 ? html`<p class="muted">And ${int(v.more_games)} more live games.</p>` : ""}`}</div>`;
}

export function liveStrategiesTable(v: LivePageView | Pending, oob: boolean | string = false): Html {
  return html`<div id="live-strategies"${oobAttr(oob)}>${isPending(v)
    ? waiting("the strategies")
    : v.strategies.length === 0
      ? html`<p class="muted">No strategies deployed. Deploy one below, or from a completed grid search's page.</p>`
      : scrollTable("Deployed strategies", html`<table class="live-strategies">
<thead><tr><th scope="col">Strategy</th><th scope="col" class="num">Entry</th><th scope="col" class="num">Exit</th><th scope="col" class="num">Fee</th><th scope="col">Status</th><th scope="col" class="num">P&amp;L</th><th scope="col" class="num">Trades</th><th scope="col" class="num">Win</th><th scope="col" class="num">Open</th></tr></thead>
<tbody>${v.strategies.map((s) => html`<tr data-strategy="${s.id}" data-status="${s.status}">
<td>${shownName(s.name)} <code class="id">#${s.id}</code></td>
<td class="num">${threshold(s.entry)}</td><td class="num">${threshold(s.exit)}</td><td class="num">${threshold(s.fee)}</td>
<td><span class="badge badge-${s.status === "active" ? "running" : "cancelled"}">${s.status}</span></td>
<td class="num ${s.pnl > 0 ? "ok" : s.pnl < 0 ? "bad" : ""}">${pnl(s.pnl)}</td><td class="num">${int(s.trades)}</td><td class="num">${winRate(s.wins, s.trades)}</td><td class="num">${int(s.open_positions)}</td>
</tr>`)}</tbody>
</table>`)}</div>`;
}

function signalItem(s: LiveSignalRow, withGame: boolean): Html {
  return html`<tr data-signal="${s.id}" class="signal-${s.action}">
<td class="when">${clock(s.at)}</td>
<td>${actionLabel(s.action)}</td>
<td>${s.strategy_name === null ? html`#${s.strategy_id}` : shownName(s.strategy_name)}</td>
${withGame ? html`<td><a href="${gameHref(s.game_id)}">${s.game_id}</a></td>` : ""}
<td class="num">${s.t}</td><td class="num">${price(s.price)}</td><td class="num">${edge(s.edge)}</td>
<td class="num">${s.pnl === null ? "–" : pnl(s.pnl)}</td>
</tr>`;
}

function signalsTable(label: string, signals: LiveSignalRow[], withGame: boolean): Html {
  return scrollTable(label, html`<table class="live-signals">
<thead><tr><th scope="col">At (UTC)</th><th scope="col">Action</th><th scope="col">Strategy</th>${withGame ? html`<th scope="col">Game</th>` : ""}<th scope="col" class="num">t</th><th scope="col" class="num">Price</th><th scope="col" class="num">Edge</th><th scope="col" class="num">P&amp;L</th></tr></thead>
<tbody>${signals.map((s) => signalItem(s, withGame))}</tbody>
</table>`);
}

export function liveSignalsList(v: LivePageView | Pending, oob: boolean | string = false): Html {
  return html`<div id="live-signals"${oobAttr(oob)}>${isPending(v)
    ? waiting("the signals")
    : v.signals.length === 0
      ? html`<p class="muted">No signals yet: a deployed strategy signals when a live game's edge crosses its entry or exit.</p>`
      : signalsTable("Latest signals", v.signals, true)}</div>`;
}

/** The /live socket message: the three lists, morphed in place so focus on a link survives. */
export function livePageFragment(v: LivePageView): string {
  return String(html`${liveGamesTable(v, "outerMorph")}${liveStrategiesTable(v, "outerMorph")}${liveSignalsList(v, "outerMorph")}`);
}

/** The place a form's outcome is shown (an htmx post swaps its answer in here). */
export const formResult = (id: string) => html`<div id="${id}" class="form-result" role="status" aria-live="polite"></div>`;

/** What a form post answers to htmx: a line saying what happened. */
export const formNotice = (message: string) => String(html`<p class="notice ok">${message}</p>`);

const field = (id: string, name: string, label: string, hint: string, attrs: Html = html``, value = "") =>
  html`<div class="field"><label for="${id}">${label} <code>${name}</code></label>
<input id="${id}" name="${name}" type="text" autocomplete="off" value="${value}" aria-describedby="${id}-hint"${attrs}>
<small id="${id}-hint" class="muted">${hint}</small></div>`;

export function replayForm(viewer: Viewer): Html {
  if (!mayOperate(viewer)) return html`<h2>Replay stored games</h2><p class="role-note">Replaying games needs the operator role; you are signed in as ${viewer?.role ?? "nobody"}.</p>`;
  return html`<form class="live-form" method="post" action="/live/replay" hx-post="/live/replay" hx-target="#replay-result" hx-swap="innerHTML">
<h2>Replay stored games</h2>
<p class="muted">Stored games are sent again through the live ingest as new games named prefix + id, paced by their tick gaps divided by the speed, and settled at their outcome.</p>
${csrfField(viewer)}
<div class="fields">
${field("replay-count", "count", "Games", "How many stored games, in game order (or list ids below).", html` inputmode="numeric"`, "5")}
${field("replay-speed", "speed", "Speed", "Tick gaps divided by this (0.01 to 1,000,000).", html` inputmode="decimal"`, "10")}
${field("replay-prefix", "prefix", "Prefix", "Put before each stored id.", html``, "replay-")}
<div class="field field-wide"><label for="replay-games">Game ids <code>games</code></label>
<textarea id="replay-games" name="games" rows="2" aria-describedby="replay-games-hint"></textarea>
<small id="replay-games-hint" class="muted">Optional: one stored game id a line, instead of a count.</small></div>
</div>
<button type="submit" class="primary">Start replay</button>
${formResult("replay-result")}
</form>`;
}

export function deployForm(viewer: Viewer): Html {
  if (!mayOperate(viewer)) return html`<h2>Deploy a strategy</h2><p class="role-note">Deploying strategies needs the operator role; you are signed in as ${viewer?.role ?? "nobody"}.</p>`;
  return html`<form class="live-form" method="post" action="/live/strategies" hx-post="/live/strategies" hx-target="#deploy-result" hx-swap="innerHTML">
<h2>Deploy a strategy</h2>
<p class="muted">Enter when fair − price is at least the entry (long) or at most −entry (short); leave when the edge shrinks to the exit. It runs on every live game from its first tick.</p>
${csrfField(viewer)}
<div class="fields">
${field("deploy-name", "name", "Name", "1 to 100 characters, no < or >.", html` required maxlength="100"`)}
${field("deploy-entry", "entry", "Entry", "In (0, 1].", html` inputmode="decimal" required`)}
${field("deploy-exit", "exit", "Exit", "In [0, entry).", html` inputmode="decimal" required`)}
${field("deploy-fee", "fee", "Fee", "Per trade, in [0, 1].", html` inputmode="decimal"`, "0")}
</div>
<button type="submit" class="primary">Deploy</button>
${formResult("deploy-result")}
</form>`;
}

export function livePage(version: string, identity: Viewer, view: LivePageView | Pending): Html {
  return layout({ title: "Live", version, active: "live", identity }, html`<section class="panel">
<div class="panel-head"><h1>Live games</h1>${liveIndicator({ socket: "/pages/ws/live", poll: "/pages/live" })}</div>
${liveGamesTable(view)}
${poller("/pages/live")}
</section>
<section class="panel" aria-labelledby="strategies-title">
<h2 id="strategies-title">Deployed strategies</h2>
${liveStrategiesTable(view)}
</section>
<section class="panel" aria-labelledby="signals-title">
<h2 id="signals-title">Latest signals <span class="muted">(newest first)</span></h2>
${liveSignalsList(view)}
</section>
<div class="cols">
<section class="panel">${replayForm(identity)}</section>
<section class="panel">${deployForm(identity)}</section>
</div>`);
}

/** Signal rows in the game page's table, newest first. */
const GAME_SIGNAL_ROWS = 25;

export function liveGameChart(v: LiveGameView | (Pending & { game_id: string }), oob: boolean | string = false): Html {
  if (isPending(v)) return html`<div id="live-game"${oobAttr(oob)}>${waiting("the game")}</div>`;
  const n = v.series.count;
  const last = n - 1;
  const markers = v.signals.map((s) => ({
    action: s.action, t: s.t, price: s.price,
    label: `${MARKER_NAME[s.action]} by ${s.strategy_name ?? `#${s.strategy_id}`} at t=${s.t}, price ${price(s.price)}${s.pnl === null ? "" : `, P&L ${pnl(s.pnl)}`}`,
  }));
  const newest = v.signals.slice(-GAME_SIGNAL_ROWS).reverse();
  return html`<div id="live-game"${v.outcome !== null ? html` data-terminal` : ""}${oobAttr(oob)}>
<dl class="figures">
<div><dt>Status</dt><dd>${v.outcome === null ? html`<span class="badge badge-running">live</span>` : html`<span class="badge badge-complete">settled: ${v.outcome === 1 ? "yes (1)" : "no (0)"}</span>`}</dd></div>
<div><dt>Ticks</dt><dd>${int(n)}</dd></div>
<div><dt>Price</dt><dd>${n > 0 ? price(v.series.price[last]) : "–"}</dd></div>
<div><dt>Fair</dt><dd>${n > 0 ? fair(v.series.fair[last]) : "–"}</dd></div>
<div><dt>Edge</dt><dd>${n > 0 ? edge(v.series.fair[last] - v.series.price[last]) : "–"}</dd></div>
<div><dt>Signals</dt><dd>${int(v.signals.length)}</dd></div>
</dl>
${gameChartSvg(v.series, markers, { id: "game-chart", title: `Price and fair of ${v.game_id}` })}
${chartLegend()}
<h2>Signals <span class="muted">(newest first${v.signals.length > newest.length ? `, latest ${newest.length} of ${int(v.signals.length)}` : ""})</span></h2>
${v.signals.length === 0 ? html`<p class="muted">No signals on this game yet.</p>` : signalsTable("Signals on this game", newest, false)}
</div>`;
}

/** The /live/{game_id} socket message. */
export const liveGameFragment = (v: LiveGameView) => String(liveGameChart(v, "outerMorph"));

export function liveGamePage(version: string, identity: Viewer, v: LiveGameView | (Pending & { game_id: string })): Html {
  return layout({ title: `Live ${v.game_id}`, version, active: "live", identity }, html`<section class="panel" aria-labelledby="game-title">
<div class="panel-head"><h1 id="game-title">Live game <code class="id">${v.game_id}</code></h1>${liveIndicator({ socket: `/pages/ws/live/${encodeURIComponent(v.game_id)}`, poll: `/pages/live/${encodeURIComponent(v.game_id)}` })}</div>
<p><a href="/live">← All live games</a></p>
${liveGameChart(v)}
${poller(`/pages/live/${encodeURIComponent(v.game_id)}`)}
</section>`);
}
