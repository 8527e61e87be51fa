// The grid search heatmap: train P&L over entry (x) by exit (y), as an SVG rendered on the server.
// One <path> per colour level keeps it small whatever the grid; grids wider than MAX_BINS per
// axis are binned and each cell shows the best pair in it. The final selection is outlined.
import { html, type Html } from "../html";
import { threshold, pnl as fmtPnl } from "../format";
import { n2 } from "./scale";

export interface HeatCell {
  entry: number;
  exit: number;
  pnl: number;
}

const MAX_BINS = 80;
/** ColorBrewer RdBu (11 classes), loss red -> zero near-white -> gain blue: readable for red-green colour blindness. */
export const PALETTE = ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"];

const W = 640, H = 440, L = 64, R = 16, T = 14, B = 52;

function axisBins(values: number[]) {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const bins = Math.min(MAX_BINS, sorted.length);
  const index = new Map(sorted.map((v, i) => [v, Math.floor((i * bins) / sorted.length)]));
  // First value in each bin, for the tick labels.
  const first: number[] = new Array(bins);
  for (let i = sorted.length - 1; i >= 0; i--) first[index.get(sorted[i])!] = sorted[i];
  return { bins, index, first, binned: bins < sorted.length };
}

export function colourLevel(value: number, maxAbs: number): number {
  const t = maxAbs > 0 ? Math.max(-1, Math.min(1, value / maxAbs)) : 0;
  return Math.round(((t + 1) / 2) * (PALETTE.length - 1));
}

export function heatmapSvg(cells: HeatCell[], selection: { entry: number; exit: number } | null, opts: { id?: string } = {}): Html {
  const id = opts.id ?? "heatmap";
  if (cells.length === 0) return html`<p class="muted">No pairs to draw.</p>`;
  const ex = axisBins(cells.map((c) => c.entry));
  const ey = axisBins(cells.map((c) => c.exit));
  const best = new Float64Array(ex.bins * ey.bins).fill(NaN);
  let maxAbs = 0;
  for (const c of cells) {
    const k = ex.index.get(c.entry)! * ey.bins + ey.index.get(c.exit)!;
    if (!(best[k] >= c.pnl)) best[k] = c.pnl;
    maxAbs = Math.max(maxAbs, Math.abs(c.pnl));
  }
  const pw = W - L - R, ph = H - T - B, cw = pw / ex.bins, ch = ph / ey.bins;
  const paths: string[] = PALETTE.map(() => "");
  for (let i = 0; i < ex.bins; i++) {
    for (let j = 0; j < ey.bins; j++) {
      const v = best[i * ey.bins + j];
      if (Number.isNaN(v)) continue;
      const x = L + i * cw, y = T + ph - (j + 1) * ch;
      paths[colourLevel(v, maxAbs)] += `M${n2(x)} ${n2(y)}h${n2(cw)}v${n2(ch)}h${n2(-cw)}z`;
    }
  }
  const ticks = (n: number) => {
    const step = Math.max(1, Math.ceil(n / 8));
    const out: number[] = [];
    for (let i = 0; i < n; i += step) out.push(i);
    return out;
  };
  const xTicks = ticks(ex.bins).map((i) => {
    const x = L + (i + 0.5) * cw;
    return html`<line x1="${n2(x)}" x2="${n2(x)}" y1="${T + ph}" y2="${T + ph + 5}"/><text x="${n2(x)}" y="${T + ph + 18}" text-anchor="middle">${threshold(ex.first[i])}</text>`;
  });
  const yTicks = ticks(ey.bins).map((j) => {
    const y = T + ph - (j + 0.5) * ch;
    return html`<line x1="${L - 5}" x2="${L}" y1="${n2(y)}" y2="${n2(y)}"/><text x="${L - 8}" y="${n2(y + 4)}" text-anchor="end">${threshold(ey.first[j])}</text>`;
  });
  let marker: Html = html``;
  if (selection && ex.index.has(selection.entry) && ey.index.has(selection.exit)) {
    const i = ex.index.get(selection.entry)!, j = ey.index.get(selection.exit)!;
    const x = L + i * cw, y = T + ph - (j + 1) * ch, w = Math.max(cw, 6), h = Math.max(ch, 6);
    const mx = x + cw / 2 - w / 2, my = y + ch / 2 - h / 2;
    marker = html`<g class="hm-pick"><title>Final selection: entry ${threshold(selection.entry)}, exit ${threshold(selection.exit)}</title><rect x="${n2(mx - 2)}" y="${n2(my - 2)}" width="${n2(w + 4)}" height="${n2(h + 4)}" fill="none" stroke="#fff" stroke-width="3"/><rect x="${n2(mx - 2)}" y="${n2(my - 2)}" width="${n2(w + 4)}" height="${n2(h + 4)}" fill="none" stroke="#000" stroke-width="1.5"/></g>`;
  }
  const desc = `Train P&L for ${cells.length} (entry, exit) pairs${ex.binned || ey.binned ? ", binned: each cell shows the best pair in it" : ""}. Colour runs from red (loss) through white (zero) to blue (gain), up to ${fmtPnl(maxAbs)} either way; grey has no pair (exit at or above entry).${selection ? ` The outlined cell is the final selection, entry ${threshold(selection.entry)} and exit ${threshold(selection.exit)}.` : ""}`;
  return html`<figure class="chart heatmap">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" preserveAspectRatio="xMidYMid meet">
<title id="${id}-t">Train P&amp;L by entry and exit threshold</title><desc id="${id}-d">${desc}</desc>
<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#c9ced6"/>
${paths.map((d, k) => (d ? html`<path fill="${PALETTE[k]}" d="${d}"/>` : html``))}
${marker}
<g class="axis" stroke="#5b6675">${xTicks}${yTicks}<line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}"/><line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}"/></g>
<text class="axis-title" x="${L + pw / 2}" y="${H - 8}" text-anchor="middle">entry threshold</text>
<text class="axis-title" transform="translate(14 ${T + ph / 2}) rotate(-90)" text-anchor="middle">exit threshold</text>
</svg>
${legendSvg(maxAbs)}
<figcaption>${desc}</figcaption>
</figure>`;
}

/** The colour scale: one swatch per level with its P&L range at the ends and zero in the middle. */
export function legendSvg(maxAbs: number): Html {
  const sw = 36, w = sw * PALETTE.length;
  return html`<svg class="legend" viewBox="0 0 ${w + 80} 40" role="img" aria-label="Colour scale from ${fmtPnl(-maxAbs)} (red) to ${fmtPnl(maxAbs)} (blue)">
${PALETTE.map((c, k) => html`<rect x="${40 + k * sw}" y="2" width="${sw}" height="14" fill="${c}"/>`)}
<rect x="40" y="2" width="${w}" height="14" fill="none" stroke="#5b6675"/>
<text x="40" y="32" text-anchor="middle">${fmtPnl(-maxAbs)}</text><text x="${40 + w / 2}" y="32" text-anchor="middle">0</text><text x="${40 + w}" y="32" text-anchor="middle">${fmtPnl(maxAbs)}</text>
</svg>`;
}
