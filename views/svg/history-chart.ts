// The ops page's history charts: a figure over the last hour as one or two lines against wall
// time, the window fixed (now - 1 h to now) so a new row extends the line to the right. A gap in
// the rows (the daemon was down, the store skipped) is a gap in the line, not a slope across it.
import { html, type Html } from "../html";
import { n2, niceTicks, tickLabel } from "./scale";

export interface ChartLine {
  label: string;
  /** CSS class of the path: `hist-a` (solid) or `hist-b` (dashed), so lines differ by more than colour. */
  cls: "hist-a" | "hist-b";
  /** [unix ms, value] in time order; a null value is a gap. */
  points: [number, number | null][];
}

export interface HistoryChartOptions {
  id: string;
  title: string;
  lines: ChartLine[];
  from: number;
  to: number;
  /** The y axis's labels (e.g. bytes as MiB). */
  format?: (v: number) => string;
  /** Rows further apart than this are drawn as a gap (default: three intervals). */
  gapMs: number;
  /** A threshold drawn as a dotted line (an alert's), when above 0. */
  threshold?: number;
}

const W = 360, H = 150, L = 46, R = 8, T = 10, B = 22;

export function historyChartSvg(o: HistoryChartOptions): Html {
  const pw = W - L - R, ph = H - T - B;
  const span = Math.max(1, o.to - o.from);
  let hi = 0;
  for (const line of o.lines) for (const [, v] of line.points) if (v !== null && v > hi) hi = v;
  if (o.threshold && o.threshold > 0 && o.threshold < hi * 4) hi = Math.max(hi, o.threshold);
  const ticks = niceTicks(0, hi > 0 ? hi : 1, 3);
  const top = Math.max(ticks[ticks.length - 1] ?? 1, hi, 1e-9);
  const x = (t: number) => L + ((t - o.from) / span) * pw;
  const y = (v: number) => T + (1 - v / top) * ph;
  const fmt = o.format ?? tickLabel;
  const path = (points: ChartLine["points"]) => {
    let d = "";
    let lastT = -Infinity;
    for (const [t, v] of points) {
      if (t < o.from || v === null) { lastT = -Infinity; continue; }
      d += `${t - lastT > o.gapMs ? "M" : "L"}${n2(x(t))} ${n2(y(v))}`;
      lastT = t;
    }
    return d;
  };
  const yAxis = ticks.map((v) => html`<line x1="${L - 3}" x2="${L + pw}" y1="${n2(y(v))}" y2="${n2(y(v))}" class="grid"/><text x="${L - 5}" y="${n2(y(v) + 4)}" text-anchor="end">${fmt(v)}</text>`);
  const xAxis = [60, 45, 30, 15, 0].map((m) => {
    const px = n2(x(o.to - m * 60_000));
    return html`<line x1="${px}" x2="${px}" y1="${T + ph}" y2="${T + ph + 3}"/><text x="${px}" y="${T + ph + 14}" text-anchor="${m === 0 ? "end" : "middle"}">${m === 0 ? "now" : `−${m} min`}</text>`;
  });
  const latest = o.lines.map((l) => {
    const last = [...l.points].reverse().find(([, v]) => v !== null);
    return `${l.label} ${last ? fmt(last[1]!) : "none"}`;
  }).join("; ");
  const points = o.lines.reduce((n, l) => n + l.points.length, 0);
  return html`<figure class="chart hist-chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${o.id}-t ${o.id}-d" preserveAspectRatio="xMidYMid meet">
<title id="${o.id}-t">${o.title}</title><desc id="${o.id}-d">The last hour, ${points} points; latest: ${latest}.</desc>
<g class="axis" stroke="#5b6675">${yAxis}${xAxis}<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}"/></g>
${o.threshold && o.threshold > 0 && o.threshold <= top ? html`<line x1="${L}" x2="${L + pw}" y1="${n2(y(o.threshold))}" y2="${n2(y(o.threshold))}" class="hist-threshold"/>` : ""}
${o.lines.map((l) => html`<path d="${path(l.points)}" class="${l.cls}"/>`)}
</svg>
<figcaption>${o.title}${o.lines.length > 1 ? html`: ${o.lines.map((l, i) => html`${i ? " · " : ""}<span class="key-${l.cls}"></span> ${l.label}`)}` : ""}${o.threshold && o.threshold > 0 ? html` · <span class="key-hist-threshold"></span> alert at ${fmt(o.threshold)}` : ""}</figcaption>
</figure>`;
}
