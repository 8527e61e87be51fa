// The live pages' charts: a game's price and fair value as lines over its ticks so far, small (a
// table's sparkline) or full size with the signals on it. Price is a solid line and fair a dashed
// one, and each signal kind has its own shape and letter, so nothing is told by colour alone.
import { html, raw, type Html } from "../html";
import { n2 } from "./scale";

/** A few points of a game's lines: point k is tick round(k * (n - 1) / (points - 1)) of n. */
export interface Spark {
  n: number;
  price: number[];
  fair: number[];
}

/** The columns of a game's ticks (the feed's TickSeries has this shape). */
export interface Series {
  readonly count: number;
  readonly t: ArrayLike<number>;
  readonly price: ArrayLike<number>;
  readonly fair: ArrayLike<number>;
}

export type MarkerAction = "open_long" | "open_short" | "close" | "settle";

export interface Marker {
  action: MarkerAction;
  t: number;
  price: number;
  /** What the marker's tooltip says (strategy and P&L). */
  label: string;
}

/** The x extent a sparkline starts with: a game's line grows to the right until it has this many ticks, then squeezes. */
export const SPARK_MIN_TICKS = 120;
export const SPARK_POINTS = 48;
/** The least price range a sparkline spans, so a quiet game does not look wild. */
const SPARK_MIN_SPAN = 0.1;

/** A short, evenly sampled copy of a series (the last tick always in), for a sparkline. */
export function sparkOf(s: Series, points = SPARK_POINTS): Spark {
  const n = s.count;
  const m = Math.min(n, points);
  const price: number[] = [], fair: number[] = [];
  for (let k = 0; k < m; k++) {
    const i = m === 1 ? n - 1 : Math.round((k * (n - 1)) / (m - 1));
    price.push(s.price[i]);
    fair.push(s.fair[i]);
  }
  return { n, price, fair };
}

const SW = 120, SH = 30, SP = 2;

/** The sparkline: price solid, fair dashed, y fitted to the values (at least 0.1 tall, within 0 to 1). */
export function sparklineSvg(spark: Spark, label: string): Html {
  const m = spark.price.length;
  const span = Math.max(spark.n, SPARK_MIN_TICKS) - 1 || 1;
  let lo = 1, hi = 0;
  for (let k = 0; k < m; k++) {
    lo = Math.min(lo, spark.price[k], spark.fair[k]);
    hi = Math.max(hi, spark.price[k], spark.fair[k]);
  }
  if (hi - lo < SPARK_MIN_SPAN) {
    const mid = m > 0 ? (hi + lo) / 2 : 0.5;
    lo = Math.max(0, Math.min(1 - SPARK_MIN_SPAN, mid - SPARK_MIN_SPAN / 2));
    hi = lo + SPARK_MIN_SPAN;
  }
  const x = (k: number) => SP + ((m === 1 ? spark.n - 1 : (k * (spark.n - 1)) / (m - 1)) / span) * (SW - 2 * SP);
  const y = (v: number) => SP + ((hi - v) / (hi - lo)) * (SH - 2 * SP);
  const line = (values: number[]) => values.map((v, k) => `${k === 0 ? "M" : "L"}${n2(x(k))} ${n2(y(v))}`).join("");
  return html`<svg class="spark" viewBox="0 0 ${SW} ${SH}" width="${SW}" height="${SH}" role="img" aria-label="${label}">
${m > 0 ? html`<path d="${line(spark.fair)}" class="line-fair"/><path d="${line(spark.price)}" class="line-price"/>` : ""}
</svg>`;
}

const W = 720, H = 320, L = 44, R = 14, T = 12, B = 40;
/** Markers past which their letters are left out. */
const CROWDED = 40;

const MARKER_LETTER: Record<MarkerAction, string> = { open_long: "L", open_short: "S", close: "C", settle: "X" };
export const MARKER_NAME: Record<MarkerAction, string> = { open_long: "open long", open_short: "open short", close: "close", settle: "settle" };

/** A marker's shape at (cx, cy): triangle up (long), triangle down (short), circle (close), square (settle). */
function shape(action: MarkerAction, cx: number, cy: number, r = 6): string {
  switch (action) {
    case "open_long": return `<path d="M${n2(cx)} ${n2(cy - r)}L${n2(cx + r)} ${n2(cy + r * 0.8)}L${n2(cx - r)} ${n2(cy + r * 0.8)}Z"/>`;
    case "open_short": return `<path d="M${n2(cx)} ${n2(cy + r)}L${n2(cx + r)} ${n2(cy - r * 0.8)}L${n2(cx - r)} ${n2(cy - r * 0.8)}Z"/>`;
    case "close": return `<circle cx="${n2(cx)}" cy="${n2(cy)}" r="${r - 1}"/>`;
    case "settle": return `<rect x="${n2(cx - r + 1)}" y="${n2(cy - r + 1)}" width="${2 * r - 2}" height="${2 * r - 2}"/>`;
  }
}

/** Each pixel column's first, lowest, highest and last value, so a long game keeps its shape. */
function path(s: Series, values: ArrayLike<number>, x: (t: number) => number, y: (v: number) => number, columns: number): string {
  const n = s.count;
  let d = "";
  if (n <= columns * 2) {
    for (let i = 0; i < n; i++) d += `${i === 0 ? "M" : "L"}${n2(x(s.t[i]))} ${n2(y(values[i]))}`;
    return d;
  }
  for (let c = 0; c < columns; c++) {
    const a = Math.floor((c * n) / columns), b = Math.floor(((c + 1) * n) / columns);
    if (b <= a) continue;
    let lo = Infinity, hi = -Infinity;
    for (let i = a; i < b; i++) { lo = Math.min(lo, values[i]); hi = Math.max(hi, values[i]); }
    const px = n2(x(s.t[a]));
    d += `${d ? "L" : "M"}${px} ${n2(y(values[a]))}L${px} ${n2(y(lo))}L${px} ${n2(y(hi))}L${n2(x(s.t[b - 1]))} ${n2(y(values[b - 1]))}`;
  }
  return d;
}

/** The game's chart: price and fair over t, y 0 to 1, and a shape per signal at its tick's price. */
export function gameChartSvg(s: Series, markers: readonly Marker[], opts: { id: string; title: string }): Html {
  const n = s.count;
  const pw = W - L - R, ph = H - T - B;
  const t0 = n > 0 ? s.t[0] : 0;
  const t1 = n > 1 ? s.t[n - 1] : t0 + 1;
  // The x extent grows with the game but starts wide enough that the first ticks are not one smear.
  const span = Math.max(t1 - t0, 60);
  const x = (t: number) => L + ((t - t0) / span) * pw;
  const y = (v: number) => T + (1 - v) * ph;
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((v) => html`<line x1="${L - 4}" x2="${L + pw}" y1="${n2(y(v))}" y2="${n2(y(v))}" class="grid"/><text x="${L - 7}" y="${n2(y(v) + 4)}" text-anchor="end">${v}</text>`);
  const step = span <= 120 ? 20 : span <= 300 ? 60 : span <= 1200 ? 300 : Math.ceil(span / 6 / 600) * 600;
  const xTicks: Html[] = [];
  for (let v = 0; v <= span + 1e-9; v += step) {
    xTicks.push(html`<line x1="${n2(x(t0 + v))}" x2="${n2(x(t0 + v))}" y1="${T + ph}" y2="${T + ph + 4}"/><text x="${n2(x(t0 + v))}" y="${T + ph + 16}" text-anchor="middle">+${v}</text>`);
  }
  // Letters while they can be read; past that the shapes alone (the legend and the table say the rest).
  const crowded = markers.length > CROWDED;
  const marks = markers.map((m) => {
    const cx = x(m.t), cy = y(Math.min(1, Math.max(0, m.price)));
    const letter = crowded ? "" : html`<text x="${n2(cx)}" y="${n2(m.action === "open_short" ? cy - 10 : cy + 17)}" text-anchor="middle" class="mark-letter">${MARKER_LETTER[m.action]}</text>`;
    return html`<g class="mark mark-${m.action}"><title>${m.label}</title>${rawShape(m.action, cx, cy, crowded ? 4 : 6)}${letter}</g>`;
  });
  const last = n > 0 ? `last tick t=${s.t[n - 1]}: price ${s.price[n - 1]}, fair ${s.fair[n - 1]}` : "no ticks yet";
  return html`<figure class="chart live-chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${opts.id}-t ${opts.id}-d" preserveAspectRatio="xMidYMid meet">
<title id="${opts.id}-t">${opts.title}</title><desc id="${opts.id}-d">Price (solid) and fair value (dashed) over ${n} ticks; ${last}; ${markers.length} signals marked.</desc>
<g class="axis" stroke="#5b6675">${yTicks}${xTicks}<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}"/></g>
${n > 0 ? html`<path d="${path(s, s.fair, x, y, pw)}" class="line-fair"/><path d="${path(s, s.price, x, y, pw)}" class="line-price"/>` : ""}
${marks}
<text class="axis-title" x="${L + pw / 2}" y="${H - 6}" text-anchor="middle">seconds since the first tick</text>
</svg>
</figure>`;
}

// Numbers only: nothing in a shape needs escaping.
const rawShape = (action: MarkerAction, cx: number, cy: number, r?: number) => raw(shape(action, cx, cy, r));

/** The key to the chart: each line and marker with its shape and letter. */
export function chartLegend(): Html {
  const item = (action: MarkerAction) => html`<li><svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" class="mark mark-${action}">${rawShape(action, 12, 12)}</svg> ${MARKER_LETTER[action]}: ${MARKER_NAME[action]}</li>`;
  return html`<ul class="legend-list">
<li><svg viewBox="0 0 24 12" width="28" height="12" aria-hidden="true"><path d="M1 6H23" class="line-price"/></svg> price</li>
<li><svg viewBox="0 0 24 12" width="28" height="12" aria-hidden="true"><path d="M1 6H23" class="line-fair"/></svg> fair</li>
${item("open_long")}${item("open_short")}${item("close")}${item("settle")}
</ul>`;
}
