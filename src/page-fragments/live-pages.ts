// The live pages' topics (live.md "Pages"), kept current from the live feed's commits:
// `pages:live` (the live games with a short line each, the strategies with running totals, the
// latest signals) and `pages:live:{game_id}` (one game's ticks, its signals, its outcome). Each
// state is a new plain object per change and never changed afterwards: the hub may hold it back
// for a starter identity and render it later. The strategies' totals are read from the store
// once, under the live lock, and then follow the signals.
import type { Database } from "../db/database";
import type { LiveChange, LiveFeed, TickSeries } from "../live/feed";
import { withLiveLock } from "../live/repository";
import { latestSignals, signalsOfGames, type Signal } from "../live/signals";
import { listStrategies, strategyJson, strategyTotals, type StrategyJson } from "../live/strategies";
import type { Hub, State } from "../realtime";
import type { RealtimeLogger } from "../realtime/transport";
import { liveGameFragment, livePageFragment, type LiveGameRow, type LiveGameView, type LivePageView, type LiveSignalRow, type LiveStrategyRow } from "../../views/pages/live";
import { sparkOf } from "../../views/svg/live-lines";

export const LIVE_PAGE_TOPIC = "pages:live";
const GAME_PAGE_PREFIX = "pages:live:";

export const liveGamePageTopic = (gameId: string) => `${GAME_PAGE_PREFIX}${gameId}`;
export const isLivePageTopic = (topic: string) => topic === LIVE_PAGE_TOPIC || topic.startsWith(GAME_PAGE_PREFIX);

/** What the pages read of the live feed. */
export type LiveSource = Pick<LiveFeed, "onChange" | "liveGames" | "ticksOf" | "outcomeOf" | "knownStrategies">;

export interface LivePagesDeps {
  hub: Pick<Hub, "set" | "forget">;
  feed: LiveSource;
  /** For the one-time read of the strategies' totals and the latest signals. */
  database?: () => Database;
  logger?: RealtimeLogger;
  /** Live games listed on /live (the rest are counted). */
  maxGames?: number;
  /** Signals listed on /live. */
  latestSignals?: number;
  /** Signals kept per game for its page's markers (the newest). */
  maxMarkers?: number;
  /** Settled games whose page topics are kept (the live feed keeps 100). */
  retainSettled?: number;
}

/** The state of `pages:live`: the view itself, a plain snapshot. */
export type LivePageState = LivePageView & { type: "live_page"; [key: string]: unknown };
export type LiveGameState = LiveGameView & { type: "live_game"; [key: string]: unknown };

/** A tick series in a state: the feed's views (never changed once handed out), as plain arrays when serialised. */
function seriesState(s: TickSeries): TickSeries {
  return Object.freeze({
    count: s.count, t: s.t, price: s.price, fair: s.fair,
    toJSON: () => ({ count: s.count, t: Array.from(s.t), price: Array.from(s.price), fair: Array.from(s.fair) }),
  });
}

const EMPTY_SERIES: TickSeries = seriesState({ count: 0, t: new Float64Array(0), price: new Float64Array(0), fair: new Float64Array(0) });

export class LivePagesFeed {
  private readonly games = new Map<string, LiveGameRow>();
  private readonly strategies = new Map<number, LiveStrategyRow>();
  private latest: LiveSignalRow[] = [];
  private readonly gameSignals = new Map<string, LiveSignalRow[]>();
  private readonly settledOrder: string[] = [];
  private loaded: Promise<void> | null = null;
  private detach: (() => void) | null = null;
  private readonly maxGames: number;
  private readonly latestSignals: number;
  private readonly maxMarkers: number;
  private readonly retainSettled: number;

  constructor(private readonly deps: LivePagesDeps) {
    this.maxGames = deps.maxGames ?? 50;
    this.latestSignals = deps.latestSignals ?? 20;
    this.maxMarkers = deps.maxMarkers ?? 2000;
    this.retainSettled = deps.retainSettled ?? 100;
  }

  /** Follows the feed from now on, starting from what it holds; publishes `pages:live`. */
  attach(): () => void {
    if (this.detach) return this.detach;
    const off = this.deps.feed.onChange((c) => this.apply(c));
    this.detach = () => {
      off();
      this.detach = null;
    };
    for (const s of this.deps.feed.knownStrategies()) this.upsertStrategy(s);
    for (const g of this.deps.feed.liveGames()) this.gameRow(g.game_id);
    this.publishPage();
    return this.detach;
  }

  /**
   * Reads the strategies' totals and the latest signals from the store once (the first page
   * view). Under the live lock no commit lands meanwhile, and the feed tells its changes under
   * that lock too: what the store holds then replaces what was counted, and every later change
   * adds to it, so nothing is counted twice or missed.
   */
  ensureLoaded(): Promise<void> {
    const database = this.deps.database?.();
    if (!database) return Promise.resolve();
    this.loaded ??= withLiveLock(database, async () => {
      const rows = await listStrategies(database);
      const totals = rows.map(strategyTotals);
      const latest = await latestSignals(database.db, this.latestSignals);
      const live = [...this.games.keys()];
      const perGame = await signalsOfGames(database.db, live.slice(0, 1000));
      // Nothing awaited from here on: the lock is still held while the state is replaced.
      rows.forEach((r, i) => {
        const t = totals[i];
        this.strategies.set(r.id, { ...rowOf(strategyJson(r)), pnl: t.pnl, trades: t.trades, wins: t.wins, open_positions: t.open_positions });
      });
      this.latest = latest.map((r) => this.signalRow(r));
      const byGame = new Map<string, LiveSignalRow[]>();
      for (const r of perGame) {
        let list = byGame.get(r.game_id);
        if (!list) byGame.set(r.game_id, (list = []));
        list.push(this.signalRow(r));
      }
      for (const [id, list] of byGame) {
        this.gameSignals.set(id, list.slice(-this.maxMarkers));
        this.publishGame(id);
      }
      this.publishPage();
    }).catch((err) => {
      this.loaded = null; // the database may not be open yet: try again on the next view
      throw err;
    });
    return this.loaded;
  }

  /** The topics of the live pages: a known game's page, or `pages:live`; undefined for any other topic. */
  resolve(topic: string): { ok: true; initial: State } | { ok: false; reason: string } | undefined {
    if (topic === LIVE_PAGE_TOPIC) return { ok: true, initial: this.pageState() };
    if (!topic.startsWith(GAME_PAGE_PREFIX)) return undefined;
    const state = this.gameState(topic.slice(GAME_PAGE_PREFIX.length));
    return state ? { ok: true, initial: state } : { ok: false, reason: "unknown live game" };
  }

  /** /live's view now. */
  pageState(): LivePageState {
    const all = [...this.games.values()];
    return {
      type: "live_page",
      games: all.slice(0, this.maxGames),
      more_games: Math.max(0, all.length - this.maxGames),
      strategies: [...this.strategies.values()].sort((a, b) => a.id - b.id),
      signals: this.latest,
    };
  }

  /** A game's page now, or undefined when the feed knows no such game (live or recently settled). */
  gameState(gameId: string): LiveGameState | undefined {
    const series = this.deps.feed.ticksOf(gameId);
    if (!series) return undefined;
    return {
      type: "live_game",
      game_id: gameId,
      series: seriesState(series),
      signals: this.gameSignals.get(gameId) ?? [],
      outcome: this.deps.feed.outcomeOf(gameId) ?? null,
    };
  }

  private apply(c: LiveChange): void {
    switch (c.kind) {
      case "ticks":
        this.gameRow(c.game_id);
        this.publishGame(c.game_id);
        break;
      case "signals":
        this.addSignals(c.signals);
        break;
      case "settled":
        this.games.delete(c.game_id);
        this.publishGame(c.game_id, c.outcome);
        this.retire(c.game_id);
        break;
      case "strategy":
        this.upsertStrategy(c.strategy);
        break;
    }
    this.publishPage();
  }

  private gameRow(gameId: string): void {
    const s = this.deps.feed.ticksOf(gameId);
    if (!s || s.count === 0) return;
    const i = s.count - 1;
    this.games.set(gameId, {
      game_id: gameId, ticks: s.count, t: s.t[i], price: s.price[i], fair: s.fair[i], edge: s.fair[i] - s.price[i], spark: sparkOf(s),
    });
  }

  private upsertStrategy(s: StrategyJson): void {
    const old = this.strategies.get(s.id);
    this.strategies.set(s.id, { ...rowOf(s), pnl: old?.pnl ?? 0, trades: old?.trades ?? 0, wins: old?.wins ?? 0, open_positions: old?.open_positions ?? 0 });
  }

  private signalRow(s: Signal): LiveSignalRow {
    return {
      id: s.id, strategy_id: s.strategy_id, strategy_name: this.strategies.get(s.strategy_id)?.name ?? null, game_id: s.game_id,
      action: s.action, t: s.t, price: s.price, fair: s.fair, edge: s.edge, pnl: s.pnl, at: s.at,
    };
  }

  private addSignals(list: readonly Signal[]): void {
    const byGame = new Map<string, LiveSignalRow[]>();
    const rows: LiveSignalRow[] = [];
    for (const s of list) {
      const row = this.signalRow(s);
      rows.push(row);
      let g = byGame.get(s.game_id);
      if (!g) byGame.set(s.game_id, (g = []));
      g.push(row);
      const st = this.strategies.get(s.strategy_id);
      if (st) {
        const closes = s.action === "close" || s.action === "settle";
        const p = s.pnl ?? 0;
        this.strategies.set(st.id, {
          ...st,
          pnl: closes ? st.pnl + p : st.pnl,
          trades: closes ? st.trades + 1 : st.trades,
          wins: closes && p > 0 ? st.wins + 1 : st.wins,
          open_positions: closes ? Math.max(0, st.open_positions - 1) : st.open_positions + 1,
        });
      }
    }
    this.latest = [...rows.slice(-this.latestSignals).reverse(), ...this.latest].slice(0, this.latestSignals);
    for (const [id, added] of byGame) {
      const old = this.gameSignals.get(id) ?? [];
      const next = old.length + added.length > this.maxMarkers ? [...old, ...added].slice(-this.maxMarkers) : [...old, ...added];
      this.gameSignals.set(id, next);
      this.publishGame(id);
    }
  }

  /** A settled game's page is kept a while (its last state), then forgotten with its markers. */
  private retire(gameId: string): void {
    this.settledOrder.push(gameId);
    while (this.settledOrder.length > this.retainSettled) {
      const old = this.settledOrder.shift()!;
      if (this.games.has(old)) continue; // live again under the same id
      this.gameSignals.delete(old);
      this.deps.hub.forget(liveGamePageTopic(old));
    }
  }

  private publishPage(): void {
    this.deps.hub.set(LIVE_PAGE_TOPIC, this.pageState());
  }

  private publishGame(gameId: string, outcome?: 0 | 1): void {
    const state = this.gameState(gameId);
    if (state) this.deps.hub.set(liveGamePageTopic(gameId), outcome === undefined ? state : { ...state, outcome });
    else if (outcome !== undefined) {
      this.deps.hub.set(liveGamePageTopic(gameId), { type: "live_game", game_id: gameId, series: EMPTY_SERIES, signals: this.gameSignals.get(gameId) ?? [], outcome });
    }
  }
}

const rowOf = (s: StrategyJson) => ({ id: s.id, name: s.name, entry: s.entry, exit: s.exit, fee: s.fee, status: s.status, created_by: s.created_by });

/** The page format's renderer for the live pages' topics; undefined for any other topic. */
export function renderLivePage(topic: string, state: State): string | undefined {
  if (topic === LIVE_PAGE_TOPIC) return livePageFragment(state as unknown as LivePageState);
  if (topic.startsWith(GAME_PAGE_PREFIX)) return liveGameFragment(state as unknown as LiveGameState);
  return undefined;
}
