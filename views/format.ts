// Number and time formatting for the pages: one place, so every view reads the same way.

/** 1234567 -> "1,234,567". */
export const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");

/** Compact counts: 950, 12.3k, 4.56M. */
export function compact(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(n / 1e3).toPrecision(3)}k`;
  return a >= 100 || Number.isInteger(n) ? int(n) : n.toPrecision(3);
}

export function percent(current: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.min(100, Math.max(0, (current / total) * 100));
}

/** 42 s, 3 min 05 s, 2 h 07 min. */
export function duration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return "–";
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** P&L with a sign and 4 decimals (prices are probabilities, so P&L is in units of one contract). */
export function pnl(x: number): string {
  if (!Number.isFinite(x)) return "–";
  const v = Math.abs(x) < 5e-5 ? 0 : x;
  return `${v > 0 ? "+" : v < 0 ? "−" : ""}${Math.abs(v).toFixed(4)}`;
}

/** Grid values (entry/exit thresholds): trailing zeros trimmed, at most 9 decimals. */
export const threshold = (x: number) => String(Number(x.toFixed(9)));

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

export const winRate = (wins: number, trades: number) => (trades > 0 ? `${Math.round((wins / trades) * 100)}%` : "–");
