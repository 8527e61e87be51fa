// A job's progress in a terminal: percent, rate and ETA. On a terminal one line redrawn in place
// (carriage return, clear line) on every snapshot; into a pipe or file plain lines, one per state
// change and per tenth of the work, so a log of even a long job stays a dozen lines or so.
import { isTerminal } from "../../jobs/states";
import { JobClock, type JobTiming } from "../../page-fragments/job-clock";
import { compact, duration, int, percent } from "../../../views/format";
import type { WireSnapshot } from "./socket";
import { cell } from "./table";

export interface Output {
  write(text: string): void;
  isTTY: boolean;
  /** The terminal's width; a redrawn line longer than it would wrap and stop redrawing in place. */
  columns?: number;
}

const BAR_WIDTH = 20;
const CLEAR_LINE = "\r\x1b[2K";
/** A job seen running for less than this (one or two broadcast ticks) has no meaningful average. */
const MIN_AVERAGE_MS = 200;

/** Percent rounded down, so 99.96% never reads 100.0% before the job is complete. */
const shownPercent = (s: WireSnapshot, decimals: number) => {
  const f = 10 ** decimals;
  return (Math.floor(percent(s.current, s.total) * f) / f).toFixed(decimals);
};

function bar(s: WireSnapshot): string {
  const filled = Math.floor((percent(s.current, s.total) / 100) * BAR_WIDTH);
  return `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
}

export interface LineStyle {
  /** The redrawn line (see progressText). */
  terminal: boolean;
  unit: string;
  /** How long this client has waited for the job. */
  waitedMs: number;
  /** At the end: the average rate over the running this client saw (none if it saw too little). */
  averageRate?: number;
}

/** "812k pair-games/s  ETA 2.2 s" while running; the wait and the average rate at the end. */
function pace(s: WireSnapshot, t: JobTiming, style: LineStyle): string {
  const per = ` ${style.unit}/s`;
  if (isTerminal(s.status)) return `waited ${duration(style.waitedMs)}${style.averageRate === undefined ? "" : `, ${compact(style.averageRate)}${per}`}`;
  if (s.status !== "running") return "";
  return `${t.rate === undefined ? "–" : compact(t.rate)}${per}  ETA ${duration(t.etaMs)}`;
}

/**
 * One progress line. In a pipe: the state, whole percent and exact counts. On a terminal, where
 * it must fit 80 columns: the bar, one decimal, compact counts, and the state only when it is not
 * `running` (the moving bar says that).
 */
export function progressText(s: WireSnapshot, t: JobTiming, style: LineStyle): string {
  const status = cell(s.status);
  const parts = style.terminal ? [`${bar(s)} ${shownPercent(s, 1).padStart(5)}%`] : [`${status} ${shownPercent(s, 0)}%`];
  if (s.total > 0) parts.push(style.terminal ? `${compact(s.current)}/${compact(s.total)}` : `${int(s.current)}/${int(s.total)} ${style.unit}`);
  if (style.terminal && s.status !== "running") parts.push(status);
  const p = pace(s, t, style);
  if (p) parts.push(p);
  if (s.status === "running" && s.current_combo) parts.push(cell(s.current_combo));
  if (s.error) parts.push(`error: ${cell(s.error)}`);
  return parts.join("  ");
}

export class ProgressBar {
  private readonly clock = new JobClock(1);
  private lastStatus = "";
  private lastTenth = -1;
  /** A redrawn line is on screen without its newline. */
  private open = false;
  private readonly since: number;
  /** When, and at what count, this client first saw the job running. */
  private firstRun?: { at: number; current: number };

  constructor(private readonly out: Output, private readonly o: { id: string; unit: string; now: () => number }) {
    this.since = o.now();
  }

  update(s: WireSnapshot): void {
    const now = this.o.now();
    this.clock.observe(this.o.id, s, now);
    const timing = this.clock.timing(this.o.id, s.current, s.total, now);
    const done = isTerminal(s.status);
    if (s.status === "running") this.firstRun ??= { at: now, current: s.current };
    const ran = this.firstRun && now - this.firstRun.at >= MIN_AVERAGE_MS ? this.firstRun : undefined;
    const style: LineStyle = {
      terminal: this.out.isTTY, unit: this.o.unit, waitedMs: now - this.since,
      averageRate: done && ran ? ((s.current - ran.current) / (now - ran.at)) * 1000 : undefined,
    };
    if (this.out.isTTY) {
      // A line that wraps cannot be redrawn in place; the last one is not redrawn, so it may.
      const width = (this.out.columns || 80) - 1;
      const text = progressText(s, timing, style);
      this.out.write(`${CLEAR_LINE}${done ? `${text}\n` : [...text].slice(0, width).join("")}`);
      this.open = !done;
      return;
    }
    const tenth = Math.floor(percent(s.current, s.total) / 10);
    const news = s.status !== this.lastStatus || (tenth > this.lastTenth && !done);
    if (!news) return;
    this.lastStatus = s.status;
    this.lastTenth = tenth;
    this.out.write(`${progressText(s, timing, style)}\n`);
  }

  /** Ends a redrawn line so that a message (cancelling, an error) starts on a line of its own. */
  end(): void {
    if (this.open) this.out.write("\n");
    this.open = false;
  }
}
