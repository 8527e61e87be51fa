// A finished job's results: its totals as result rows and the summary (the final selection) when
// it completes, and the stored rows read back a page at a time as the results of protocol.md
// ("Job progress"), streamed as JSON or CSV, so neither side holds every row at once.
import { selectBest } from "../compute/splits";
import type { GridResult, SimulationResult } from "../compute/pool";
import type { SplitBounds } from "../compute/splits";
import type { Database } from "../db/database";
import { gridRowsRange, planOf, simulationRowsRange, type JobRow, type ResultColumns } from "./repository";
import { Slices } from "./slices";

export interface Figures { pnl: number; trades: number; wins: number }
export interface PairResult { entry: number; exit: number; train: Figures; valid: Figures; test: Figures }
export interface GameResult { game_id: string; pnl: number; trades: number; wins: number; equity: number }

/** The rows (as column views over the pool's totals: no copy, no object per row) and the summary. */
export function buildResultRows(_jobId: string, result: GridResult | SimulationResult, ids: readonly string[], entries: Float64Array, exits: Float64Array, splits?: SplitBounds): { rows: ResultColumns; summary: object } {
  if (result.kind === "grid") {
    const { train, valid, test } = result.splits;
    const best = selectBest(entries, exits, train.pnl);
    const fig = (t: typeof train, p: number): Figures => ({ pnl: t.pnl[p], trades: t.trades[p], wins: t.wins[p] });
    const summary = {
      games: ids.length,
      pairs: entries.length,
      splits: splits && { train: splits.train[1] - splits.train[0], valid: splits.valid[1] - splits.valid[0], test: splits.test[1] - splits.test[0] },
      final_selection: best < 0 ? null : { entry: entries[best], exit: exits[best], train: fig(train, best), valid: fig(valid, best), test: fig(test, best) },
    };
    return { rows: { kind: "grid", entries, exits, train, valid, test }, summary };
  }
  const r = result.perGame;
  let trades = 0, wins = 0;
  for (let g = 0; g < ids.length; g++) {
    trades += r.trades[g];
    wins += r.wins[g];
  }
  const summary = { games: ids.length, total: { pnl: ids.length ? result.equity[ids.length - 1] : 0, trades, wins } };
  return { rows: { kind: "simulation", ids, pnl: r.pnl, trades: r.trades, wins: r.wins, equity: result.equity }, summary };
}

/** Pages start small and grow toward a slice's time; the cap bounds the rows held at once. */
const PAGE_SLICES = { first: 500, min: 100, max: 10_000 };

export type ResultPage = { kind: "grid"; pairs: PairResult[] } | { kind: "simulation"; games: GameResult[] };

/** Pages over rows 0..total: each one sized by how long its read took (not by how long the
 *  reader of the pages, or its client, took), with the event loop let in before the next. */
async function* pagesOf<T>(total: number, read: (from: number, to: number) => Promise<T>): AsyncGenerator<T> {
  const slices = new Slices(PAGE_SLICES);
  for (let from = 0; from < total;) {
    const to = Math.min(total, from + slices.size);
    const started = performance.now();
    const page = await read(from, to);
    const ms = performance.now() - started;
    yield page;
    await slices.after(to - from, ms);
    from = to;
  }
}

/** A complete job's stored rows in order (pairs by entry then exit, games in game order), a page
 *  at a time: one page in memory, however many rows. */
export function resultPages(database: Database, row: JobRow): AsyncGenerator<ResultPage> {
  if (row.kind === "grid_search") {
    return pagesOf(planOf(row).pairs, async (from, to) => ({
      kind: "grid",
      pairs: (await gridRowsRange(database, row.id, from, to)).map((r) => ({
        entry: r.entry, exit: r.exit,
        train: { pnl: r.trainPnl, trades: r.trainTrades, wins: r.trainWins },
        valid: { pnl: r.validPnl, trades: r.validTrades, wins: r.validWins },
        test: { pnl: r.testPnl, trades: r.testTrades, wins: r.testWins },
      })),
    }));
  }
  return pagesOf(row.gameIds.length, async (from, to) => ({
    kind: "simulation",
    games: (await simulationRowsRange(database, row.id, from, to)).map((r) => ({ game_id: r.gameId, pnl: r.pnl, trades: r.trades, wins: r.wins, equity: r.equity })),
  }));
}

type GridSummary = { final_selection?: PairResult | null } | null;
type SimulationSummary = { total?: Figures } | null;

/** The results JSON around the rows: the text before the first row and after the last, keys in
 *  protocol.md's order, so the streamed body is the document JSON.stringify made of the whole. */
function jsonFrame(row: JobRow): { head: string; tail: string } {
  const s = JSON.stringify;
  if (row.kind === "grid_search") {
    const summary = row.summary as GridSummary;
    return { head: `{"request_id":${s(row.id)},"status":${s(row.state)},"games":${s(row.gameIds.length)},"pairs":[`, tail: `],"final_selection":${s(summary?.final_selection ?? null)}}` };
  }
  const { entry, exit } = planOf(row).params as { entry: number; exit: number };
  const summary = row.summary as SimulationSummary;
  return {
    head: `{"request_id":${s(row.id)},"status":${s(row.state)},"entry":${s(entry)},"exit":${s(exit)},"games":[`,
    tail: `],"total":${s(summary?.total ?? { pnl: 0, trades: 0, wins: 0 })}}`,
  };
}

/** The CSV of a page: the view's own writer (one definition of the format), its header kept once. */
export interface CsvWriters {
  grid(pairs: PairResult[]): string;
  simulation(games: GameResult[]): string;
}

async function* resultText(database: Database, row: JobRow, format: "json" | { csv: CsvWriters }): AsyncGenerator<string> {
  if (format === "json") {
    const { head, tail } = jsonFrame(row);
    yield head;
    let first = true;
    for await (const page of resultPages(database, row)) {
      const items = JSON.stringify(page.kind === "grid" ? page.pairs : page.games);
      if (items.length <= 2) continue;
      yield (first ? "" : ",") + items.slice(1, -1); // the page's array without its brackets
      first = false;
    }
    yield tail;
    return;
  }
  const { csv } = format;
  const header = row.kind === "grid_search" ? csv.grid([]) : csv.simulation([]);
  yield header;
  for await (const page of resultPages(database, row)) {
    yield (page.kind === "grid" ? csv.grid(page.pairs) : csv.simulation(page.games)).slice(header.length);
  }
}

/**
 * A complete job's results as a byte stream, written as it is read: one page of rows in memory
 * at a time, and pulled only as fast as the client takes it. The same code serves the API's
 * results and the job page's downloads. Check the job is complete before: once the body has
 * started, a failure can only cut it short.
 */
export function resultsStream(database: Database, row: JobRow, format: "json" | { csv: CsvWriters }): ReadableStream<Uint8Array> {
  const parts = resultText(database, row, format);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await parts.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await parts.return(undefined);
    },
  });
}

/** Every row of a complete job at once, for the job page's heatmap and tables. */
export async function allResults(database: Database, row: JobRow): Promise<ResultPage> {
  const all: ResultPage = row.kind === "grid_search" ? { kind: "grid", pairs: [] } : { kind: "simulation", games: [] };
  for await (const page of resultPages(database, row)) {
    if (page.kind === "grid" && all.kind === "grid") for (const p of page.pairs) all.pairs.push(p);
    else if (page.kind === "simulation" && all.kind === "simulation") for (const g of page.games) all.games.push(g);
  }
  return all;
}
