// Reading stored signals (live.md "Signals"): pages in id order, by strategy and game, with a
// cursor (`after`), and an optional cut-off time for identities that see them late (tiers).
import { and, asc, eq, gt, lte, type SQL } from "drizzle-orm";
import type { Database } from "../db/database";
import { signals } from "../db/schema";
import type { Signal } from "./repository";

export type SignalRow = typeof signals.$inferSelect;

/** A signal as the API and the topics carry it (live.md "Signals"). */
export type SignalJson = Signal;

export const signalJson = (r: SignalRow): SignalJson => ({
  id: r.id, strategy_id: r.strategyId, game_id: r.gameId, action: r.action, t: r.t, price: r.price, fair: r.fair,
  edge: r.edge, pnl: r.pnl, at: r.at.toISOString(),
});

export interface SignalQuery {
  strategy?: number;
  game?: string;
  /** Only ids above this one: the cursor a client pages on (the last id it has). */
  after?: number;
  limit: number;
  /** Only signals emitted at or before this time (a starter identity's view, live.md "Tiers"). */
  notAfter?: Date;
}

export const SIGNALS_PAGE = { def: 100, min: 1, max: 1000 } as const;

export async function listSignals(database: Database, q: SignalQuery): Promise<SignalRow[]> {
  const where: SQL[] = [];
  if (q.strategy !== undefined) where.push(eq(signals.strategyId, q.strategy));
  if (q.game !== undefined) where.push(eq(signals.gameId, q.game));
  if (q.after !== undefined) where.push(gt(signals.id, q.after));
  if (q.notAfter !== undefined) where.push(lte(signals.at, q.notAfter));
  return database.db.select().from(signals).where(where.length ? and(...where) : undefined).orderBy(asc(signals.id)).limit(q.limit);
}
