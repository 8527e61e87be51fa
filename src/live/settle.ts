// Settlement of a live game (live.md): every active strategy's open position settles per
// strategy.md, and the game becomes a stored game exactly as an import would store it (one
// packed row in games + game_ticks, the data version bumped), so grid searches, simulations and
// the export see it like any other. One transaction, under the live lock ingest holds too.
import { eq } from "drizzle-orm";
import type { Database, Db } from "../db/database";
import { games, gameTicks, liveGames, liveTickChunks } from "../db/schema";
import { invalid, notFound, wrongState } from "../errors";
import { lookupIdProblem } from "../games/ids";
import { packFloat64 } from "../games/packed";
import { bumpDataVersion } from "../games/repository";
import type { Logger } from "../log/logger";
import { settle } from "./evaluator";
import { publishCommitted, type CommitHooks } from "./ingest";
import {
  activeStrategies, catchUp, loadStates, saveStates, stateChanges, stateKey, storeLiveLock, storedColumns, withLiveLock,
} from "./repository";
import { insertSignals, type PendingSignal, type Signal, type TopicSeq } from "./signals";

export interface SettleResult {
  game_id: string;
  ticks: number;
  signals: Signal[];
  seqs: TopicSeq[];
}

export interface SettleOptions extends CommitHooks {
  log?: Logger;
}

export async function settleGame(database: Database, gameId: string, outcome: unknown, now = new Date(), options: SettleOptions = {}): Promise<SettleResult> {
  const problem = lookupIdProblem(gameId);
  if (problem) throw invalid(`id: game id ${JSON.stringify(gameId).slice(0, 60)} ${problem}`);
  if (outcome !== 0 && outcome !== 1) throw invalid(`outcome: must be 0 or 1, got ${JSON.stringify(outcome) ?? String(outcome)}`);
  return withLiveLock(database, async () => {
    const result = await database.db.transaction(async (txn) => {
      const tx = txn as unknown as Db;
      const [, [game]] = await Promise.all([storeLiveLock(tx), tx.select().from(liveGames).where(eq(liveGames.id, gameId))]);
      if (!game) throw notFound("Live game not found");
      if (game.settledAt) throw wrongState(`game ${JSON.stringify(gameId)} is already settled`, { outcome: game.outcome });
      const active = await activeStrategies(tx);
      const pending: PendingSignal[] = [];
      if (active.length > 0) {
        // Every strategy's state on the game, stopped ones' too: the game's row is written whole.
        const states = await loadStates(tx, [gameId]);
        const changes = stateChanges();
        // A strategy deployed after the last tick still trades the whole game before it settles.
        await catchUp(tx, gameId, game.tickCount, active, states, changes, pending);
        const last = { t: game.lastT, price: game.lastPrice, fair: game.lastFair };
        for (const s of active) {
          const k = stateKey(s.id, gameId);
          const draft = settle(states.get(k)!, s, outcome, last);
          changes.touched.add(k);
          if (draft) pending.push({ ...draft, strategyId: s.id, gameId });
        }
        await saveStates(tx, states, changes, pending);
      }
      const inserted = await insertSignals(tx, pending, now);
      await storeAsGame(tx, gameId, outcome, now);
      await tx.update(liveGames).set({ settledAt: now, outcome }).where(eq(liveGames.id, gameId));
      // game_ticks holds them now; the live_games row stays to refuse late ticks and a second settle.
      await tx.delete(liveTickChunks).where(eq(liveTickChunks.gameId, gameId));
      return { game_id: gameId, ticks: game.tickCount, ...inserted };
    });
    await publishCommitted({ signals: result.signals, seqs: result.seqs, settled: { gameId, outcome }, at: now }, options, "settlement");
    return result;
  });
}

/** The import's storage of one game (import.ts storeGames): a stored game of the same id is replaced. */
async function storeAsGame(tx: Db, gameId: string, outcome: 0 | 1, now: Date): Promise<void> {
  // The chunks in first_seq order, concatenated.
  const { t, price, fair } = await storedColumns(tx, gameId);
  await tx.delete(games).where(eq(games.id, gameId));
  await tx.insert(games).values({ id: gameId, firstT: t[0], tickCount: t.length, outcome, synthetic: false, importedAt: now });
  await tx.insert(gameTicks).values({ gameId, t: packFloat64(t), price: packFloat64(price), fair: packFloat64(fair) });
  await bumpDataVersion(tx);
}
