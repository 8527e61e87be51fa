// A simulation's equity curve (cumulative P&L after each game, in game order) as an SVG.
// Long runs are reduced to the min and max of each pixel column, so the shape survives.
import { html, type Html } from "../html";
import { pnl as fmtPnl } from "../format";
import { n2, niceTicks, tickLabel } from "./scale";

const W = 640, H = 300, L = 64, R = 16, T = 14, B = 44;

export function equitySvg(equity: ArrayLike<number>, opts: { id?: string } = {}): Html {
  const id = opts.id ?? "equity";
  const n = equity.length;
  if (n === 0) return html`<p class="muted">No games.</p>`;
  let lo = 0, hi = 0;
  for (let i = 0; i < n; i++) { lo = Math.min(lo, equity[i]); hi = Math.max(hi, equity[i]); }
  if (hi === lo) hi = lo + 1;
  const pw = W - L - R, ph = H - T - B;
  const x = (i: number) => L + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v: number) => T + ph - ((v - lo) / (hi - lo)) * ph;
  let d = `M${n2(L)} ${n2(y(0))}`;
  const columns = Math.floor(pw);
  if (n <= columns * 2) {
    for (let i = 0; i < n; i++) d += `L${n2(x(i))} ${n2(y(equity[i]))}`;
  } else {
    for (let c = 0; c < columns; c++) {
      const a = Math.floor((c * n) / columns), b = Math.floor(((c + 1) * n) / columns);
      let mn = Infinity, mx = -Infinity;
      for (let i = a; i < b; i++) { mn = Math.min(mn, equity[i]); mx = Math.max(mx, equity[i]); }
      const px = n2(L + c + 0.5);
      d += `L${px} ${n2(y(equity[a]))}L${px} ${n2(y(mn))}L${px} ${n2(y(mx))}L${px} ${n2(y(equity[b - 1]))}`;
    }
  }
  const yt = niceTicks(lo, hi, 5).map((v) => html`<line x1="${L - 5}" x2="${L + pw}" y1="${n2(y(v))}" y2="${n2(y(v))}" class="grid"/><text x="${L - 8}" y="${n2(y(v) + 4)}" text-anchor="end">${tickLabel(v)}</text>`);
  const xt = niceTicks(1, n, 6).filter((v) => Number.isInteger(v)).map((v) => html`<line x1="${n2(x(v - 1))}" x2="${n2(x(v - 1))}" y1="${T + ph}" y2="${T + ph + 5}"/><text x="${n2(x(v - 1))}" y="${T + ph + 18}" text-anchor="middle">${v}</text>`);
  const final = equity[n - 1];
  return html`<figure class="chart equity">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" preserveAspectRatio="xMidYMid meet">
<title id="${id}-t">Equity curve</title><desc id="${id}-d">Cumulative P&amp;L over ${n} games in game order, from 0 to ${fmtPnl(final)}; lowest ${fmtPnl(lo)}, highest ${fmtPnl(hi)}.</desc>
<g class="axis" stroke="#5b6675">${yt}${xt}<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}"/></g>
<line x1="${L}" x2="${L + pw}" y1="${n2(y(0))}" y2="${n2(y(0))}" stroke="#1d232b" stroke-dasharray="4 3"/>
<path d="${d}" fill="none" stroke="${final >= 0 ? "#2166ac" : "#b2182b"}" stroke-width="1.6" stroke-linejoin="round"/>
<text class="axis-title" x="${L + pw / 2}" y="${H - 6}" text-anchor="middle">game (in game order)</text>
<text class="axis-title" transform="translate(14 ${T + ph / 2}) rotate(-90)" text-anchor="middle">cumulative P&amp;L</text>
</svg>
<figcaption>Cumulative P&amp;L after each of ${n} games: final ${fmtPnl(final)}.</figcaption>
</figure>`;
}
