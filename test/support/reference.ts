// An independent, deliberately plain implementation of strategy.md, written from the spec alone
// (no gridcast code): the API's numbers are held against it.
export interface RefGame { id: string; ticks: { t: number; price: number; fair: number }[]; outcome: number }

export function refStrategy(game: RefGame, e: number, x: number, c: number) {
  const ticks = [...game.ticks].sort((a, b) => a.t - b.t);
  let pos = 0, ep = 0, pnl = 0, trades = 0, wins = 0;
  const book = (p: number) => { pnl += p; trades++; if (p > 0) wins++; };
  for (const tk of ticks) {
    const edge = tk.fair - tk.price;
    if (pos !== 0 && pos * edge <= x) {
      book(pos * (tk.price - ep) - 2 * c);
      pos = 0;
    } else if (pos === 0 && edge >= e) {
      pos = 1; ep = tk.price;
    } else if (pos === 0 && -edge >= e) {
      pos = -1; ep = tk.price;
    }
  }
  if (pos !== 0) book(pos * (game.outcome - ep) - c);
  return { pnl, trades, wins };
}

const r9 = (v: number) => Math.round(v * 1e9) / 1e9;
export function refValues(a: number, b: number, d: number): number[] {
  const n = Math.floor((b - a) / d + 1e-9) + 1;
  return Array.from({ length: n }, (_, k) => r9(a + k * d));
}

export function refGameOrder(games: RefGame[]): RefGame[] {
  const first = (g: RefGame) => Math.min(...g.ticks.map((t) => t.t));
  return [...games].sort((a, b) => first(a) - first(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function refGrid(games: RefGame[], p: { es: number[]; xs: number[]; fee: number; train?: number; valid?: number }) {
  const ordered = refGameOrder(games);
  const n = ordered.length;
  const a = Math.floor((p.train ?? 0.6) * n + 1e-9), b = a + Math.floor((p.valid ?? 0.2) * n + 1e-9);
  const split = (i: number) => (i < a ? "train" : i < b ? "valid" : "test");
  const pairs = [];
  for (const e of p.es) for (const x of p.xs) {
    if (!(x < e)) continue;
    const sums: Record<"train" | "valid" | "test", { pnl: number; trades: number; wins: number }> = {
      train: { pnl: 0, trades: 0, wins: 0 }, valid: { pnl: 0, trades: 0, wins: 0 }, test: { pnl: 0, trades: 0, wins: 0 },
    };
    ordered.forEach((g, i) => {
      const r = refStrategy(g, e, x, p.fee);
      const s = sums[split(i) as "train" | "valid" | "test"];
      s.pnl += r.pnl; s.trades += r.trades; s.wins += r.wins;
    });
    pairs.push({ entry: e, exit: x, ...sums });
  }
  let best = pairs[0];
  for (const q of pairs) if (q.train.pnl > best.train.pnl) best = q; // ties keep the earlier (smaller e, then x)
  return { pairs, best };
}

/** Random games as CSV rows (interleaved), and the same games as RefGame objects. */
export function randomGames(count: number, seed: number) {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const games: RefGame[] = [];
  for (let g = 0; g < count; g++) {
    const n = 20 + Math.floor(rnd() * 60);
    const t0 = Math.floor(rnd() * 1000);
    let p = 0.2 + rnd() * 0.6;
    const ticks = Array.from({ length: n }, (_, k) => {
      p = Math.min(0.99, Math.max(0.01, p + (rnd() - 0.5) * 0.06));
      return { t: t0 + k, price: Math.round(p * 100) / 100, fair: Math.round(Math.min(1, Math.max(0, p + (rnd() - 0.5) * 0.3)) * 1000) / 1000 };
    });
    games.push({ id: `rg-${g}`, ticks, outcome: rnd() < 0.5 ? 0 : 1 });
  }
  const rows = games.flatMap((g) => g.ticks.map((t) => `${g.id},${t.t},${t.price},${t.fair},${g.outcome}`));
  for (let i = rows.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [rows[i], rows[j]] = [rows[j], rows[i]]; }
  return { games, csv: `game_id,t,price,fair,outcome\n${rows.join("\n")}\n` };
}
