// Turns a finished job's totals into result rows and the summary (the final selection), and
// stored rows back into the results JSON of protocol.md.
import { selectBest } from "../compute/splits";
import type { GridResult, SimulationResult } from "../compute/pool";
import type { SplitBounds } from "../compute/splits";
import type { GridRow, SimulationRow } from "./repository";

type Figures = { pnl: number; trades: number; wins: number };

export function buildResultRows(jobId: string, result: GridResult | SimulationResult, ids: readonly string[], entries: Float64Array, exits: Float64Array, splits?: SplitBounds) {
  if (result.kind === "grid") {
    const { train, valid, test } = result.splits;
    const grid: GridRow[] = [];
    for (let p = 0; p < entries.length; p++) {
      grid.push({
        jobId, pair: p, entry: entries[p], exit: exits[p],
        trainPnl: train.pnl[p], trainTrades: train.trades[p], trainWins: train.wins[p],
        validPnl: valid.pnl[p], validTrades: valid.trades[p], validWins: valid.wins[p],
        testPnl: test.pnl[p], testTrades: test.trades[p], testWins: test.wins[p],
      });
    }
    const best = selectBest(entries, exits, train.pnl);
    const fig = (t: typeof train, p: number): Figures => ({ pnl: t.pnl[p], trades: t.trades[p], wins: t.wins[p] });
    const summary = {
      games: ids.length,
      pairs: entries.length,
      splits: splits && { train: splits.train[1] - splits.train[0], valid: splits.valid[1] - splits.valid[0], test: splits.test[1] - splits.test[0] },
      final_selection: best < 0 ? null : { entry: entries[best], exit: exits[best], train: fig(train, best), valid: fig(valid, best), test: fig(test, best) },
    };
    return { rows: { grid }, summary };
  }
  const simulation: SimulationRow[] = [];
  let pnl = 0, trades = 0, wins = 0;
  for (let g = 0; g < ids.length; g++) {
    const r = result.perGame;
    pnl += r.pnl[g];
    trades += r.trades[g];
    wins += r.wins[g];
    simulation.push({ jobId, idx: g, gameId: ids[g], pnl: r.pnl[g], trades: r.trades[g], wins: r.wins[g], equity: result.equity[g] });
  }
  return { rows: { simulation }, summary: { games: ids.length, total: { pnl: ids.length ? result.equity[ids.length - 1] : 0, trades, wins } } };
}

export function gridResultsJson(requestId: string, status: string, games: number, rows: (GridRow & { entry: number; exit: number })[], summary: { final_selection: unknown } | null) {
  return {
    request_id: requestId,
    status,
    games,
    pairs: rows.map((r) => ({
      entry: r.entry, exit: r.exit,
      train: { pnl: r.trainPnl, trades: r.trainTrades, wins: r.trainWins },
      valid: { pnl: r.validPnl, trades: r.validTrades, wins: r.validWins },
      test: { pnl: r.testPnl, trades: r.testTrades, wins: r.testWins },
    })),
    final_selection: summary?.final_selection ?? null,
  };
}

export function simulationResultsJson(requestId: string, status: string, params: { entry: number; exit: number }, rows: SimulationRow[], summary: { total: Figures } | null) {
  return {
    request_id: requestId,
    status,
    entry: params.entry,
    exit: params.exit,
    games: rows.map((r) => ({ game_id: r.gameId, pnl: r.pnl, trades: r.trades, wins: r.wins, equity: r.equity })),
    total: summary?.total ?? { pnl: 0, trades: 0, wins: 0 },
  };
}
