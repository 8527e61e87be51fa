// Axis helpers for the server-rendered charts: "nice" tick values and compact SVG numbers.

/** About `count` round tick values covering [min, max] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max <= min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** SVG coordinates with at most 2 decimals: smaller markup, no visible difference. */
export const n2 = (x: number) => String(Math.round(x * 100) / 100);

/** Tick label: short, no float noise. */
export const tickLabel = (v: number) => String(Number(v.toPrecision(6)));
