// Shared by the live tests: a seeded interleaving of games, a strategy row, per-(strategy, game) totals of the stored signals.
import { expect } from "bun:test";
import type { Database } from "../../src/db/database";
import { strategies } from "../../src/db/schema";
import type { TickInput } from "../../src/live/ingest";
import { allSignals } from "../../src/live/signals";
import type { RefGame } from "../support/reference";

/** A seeded stream: every game's ticks in order, the games interleaved at random. */
export function interleave(games: RefGame[], seed: number): TickInput[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const next = games.map(() => 0);
  const open = games.map((_, i) => i);
  const out: TickInput[] = [];
  while (open.length) {
    const j = Math.floor(rnd() * open.length);
    const g = games[open[j]];
    const tk = g.ticks[next[open[j]]++];
    out.push({ game_id: g.id, t: tk.t, price: tk.price, fair: tk.fair });
    if (next[open[j]] === g.ticks.length) open.splice(j, 1);
  }
  return out;
}

export async function addStrategy(database: Database, name: string, entry: number, exit: number, fee: number): Promise<number> {
  const [row] = await database.db.insert(strategies).values({ name, entry, exit, fee }).returning({ id: strategies.id });
  return row.id;
}

/** Per (strategy, game): the sum of close/settle pnl in id order, their count and wins. */
export async function signalTotals(database: Database): Promise<Map<string, { pnl: number; trades: number; wins: number }>> {
  const rows = await allSignals(database);
  const out = new Map<string, { pnl: number; trades: number; wins: number }>();
  for (const r of rows) {
    const k = `${r.strategy_id}/${r.game_id}`;
    const sum = out.get(k) ?? { pnl: 0, trades: 0, wins: 0 };
    if (r.action === "close" || r.action === "settle") {
      sum.pnl += r.pnl!;
      sum.trades++;
      if (r.pnl! > 0) sum.wins++;
    } else expect(r.pnl).toBeNull();
    out.set(k, sum);
  }
  return out;
}

