// What the terminal client prints when a job is done, and the job list: plain text tables, the
// figures formatted as the pages format them (views/format.ts), the top pairs ranked as the page's.
import type { Figures, GameResult, PairResult } from "../../jobs/results";
import { int, percent, pnl, threshold, winRate } from "../../../views/format";
import { topPairs } from "../../../views/pages/results";
import type { JobListing } from "./api";

/** Text from the daemon made safe for a terminal: control characters (escape sequences, carriage
 *  returns) become U+FFFD; newlines stay, as a message's usage lines need them. */
export const printable = (s: string) => s.replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/g, "\uFFFD");
/** A table cell or a part of a line: printable, on one line. */
export const cell = (s: string) => printable(s).replace(/\n/g, "\uFFFD");

/** Columns padded to their widest cell, two spaces apart; `right` columns (numbers) align right. */
export function columns(rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const width = (c: string) => [...c].length;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => width(r[i] ?? ""))));
  return rows
    .map((r) => r.map((c, i) => {
      const pad = " ".repeat(widths[i]! - width(c));
      return right.has(i) ? pad + c : i === r.length - 1 ? c : c + pad;
    }).join("  "))
    .join("\n");
}

const figures = (f: Figures) => [pnl(f.pnl), int(f.trades), winRate(f.wins, f.trades)];
const SPLITS = ["train", "valid", "test"] as const;

export interface GridResultsDoc {
  request_id: string;
  games: number;
  pairs: PairResult[];
  final_selection: PairResult | null;
}

export interface SimulationResultsDoc {
  request_id: string;
  entry: number;
  exit: number;
  games: GameResult[];
  total: Figures;
}

export const TOP_PAIRS = 10;
/** Per-game rows a simulation prints; --json has them all. */
export const SIMULATION_ROWS = 20;

export function gridResultsText(doc: GridResultsDoc): string {
  const sel = doc.final_selection;
  const out: string[] = [];
  if (sel) {
    out.push(`Final selection: entry ${threshold(sel.entry)}, exit ${threshold(sel.exit)} (the best train P&L of ${int(doc.pairs.length)} pairs over ${int(doc.games)} games)`);
    out.push(columns([["SPLIT", "P&L", "TRADES", "WIN RATE"], ...SPLITS.map((s) => [s, ...figures(sel[s])])], new Set([1, 2, 3])));
  } else {
    out.push(`No final selection (${int(doc.pairs.length)} pairs over ${int(doc.games)} games)`);
  }
  const top = topPairs(doc.pairs, TOP_PAIRS);
  if (top.length) {
    out.push("", `Top ${top.length} pairs by train P&L:`);
    const head = ["#", "ENTRY", "EXIT", ...SPLITS.flatMap((s) => [`${s.toUpperCase()} P&L`, "TRADES", "WIN"])];
    const rows = top.map((p, i) => [String(i + 1), threshold(p.entry), threshold(p.exit), ...SPLITS.flatMap((s) => figures(p[s]))]);
    out.push(columns([head, ...rows], new Set(head.map((_, i) => i))));
  }
  return out.join("\n");
}

export function simulationResultsText(doc: SimulationResultsDoc): string {
  const t = doc.total;
  const out = [
    `Simulation: entry ${threshold(doc.entry)}, exit ${threshold(doc.exit)} over ${int(doc.games.length)} games: P&L ${pnl(t.pnl)}, ${int(t.trades)} trades, win rate ${winRate(t.wins, t.trades)}`,
  ];
  const shown = doc.games.slice(0, SIMULATION_ROWS);
  if (shown.length) {
    out.push("", columns([["GAME", "P&L", "TRADES", "WIN", "EQUITY"], ...shown.map((g) => [cell(g.game_id), ...figures(g), pnl(g.equity)])], new Set([1, 2, 3, 4])));
    if (doc.games.length > shown.length) out.push(`... ${int(doc.games.length - shown.length)} more games (--json prints them all)`);
  }
  return out.join("\n");
}

const minute = (iso: string) => `${iso.slice(0, 16).replace("T", " ")}Z`;

export function jobsText(jobs: JobListing[]): string {
  if (jobs.length === 0) return "no jobs";
  const rows = jobs.map((j) => [
    cell(j.request_id), cell(j.kind), cell(j.status),
    `${Math.floor(percent(j.current, j.total))}% (${int(j.current)}/${int(j.total)})`,
    cell(minute(String(j.created_at))), cell(j.created_by ?? "-"),
  ]);
  return columns([["ID", "KIND", "STATE", "PROGRESS", "CREATED", "BY"], ...rows]);
}
