// The strategy of strategy.md one tick at a time: simulateGame (src/compute/kernel.ts) cut open
// at its loop, so a live game's state can be stored between ticks and resumed after a restart.
// The expressions are the kernel's own (pos * (price - ep) - 2 * fee on a close, pos * (outcome -
// ep) - fee at settlement, summed in trade order from 0), so a settled live game's signals add up
// to the very doubles a backtest of the same ticks gives, not merely close ones.

export type SignalAction = "open_long" | "open_short" | "close" | "settle";

/** Per-(strategy, game) state: what simulateGame keeps in its locals. */
export interface StrategyState {
  pos: number;
  ep: number;
  pnl: number;
  trades: number;
  wins: number;
}

export interface StrategyParams {
  entry: number;
  exit: number;
  fee: number;
}

export interface Tick {
  t: number;
  price: number;
  fair: number;
}

/** What a step did, before it has an id, a strategy and a game: the signal's payload. */
export interface SignalDraft {
  action: SignalAction;
  t: number;
  price: number;
  fair: number;
  edge: number;
  /** Null on opens. */
  pnl: number | null;
}

export const freshState = (): StrategyState => ({ pos: 0, ep: 0, pnl: 0, trades: 0, wins: 0 });

/**
 * One tick of strategy.md: updates `state` in place and returns the signal the tick makes, or
 * null. The branches are simulateGame's, in its order: a position closed on this tick is not
 * reopened on it, and a NaN edge neither opens nor closes (every comparison with it is false).
 */
export function step(state: StrategyState, p: StrategyParams, tick: Tick): SignalDraft | null {
  const edge = tick.fair - tick.price;
  if (state.pos !== 0 && state.pos * edge <= p.exit) {
    const t = state.pos * (tick.price - state.ep) - 2 * p.fee;
    state.pnl += t;
    state.trades++;
    if (t > 0) state.wins++;
    state.pos = 0;
    return { action: "close", t: tick.t, price: tick.price, fair: tick.fair, edge, pnl: t };
  }
  if (state.pos === 0 && edge >= p.entry) {
    state.pos = 1;
    state.ep = tick.price;
    return { action: "open_long", t: tick.t, price: tick.price, fair: tick.fair, edge, pnl: null };
  }
  if (state.pos === 0 && -edge >= p.entry) {
    state.pos = -1;
    state.ep = tick.price;
    return { action: "open_short", t: tick.t, price: tick.price, fair: tick.fair, edge, pnl: null };
  }
  return null;
}

/**
 * Settlement: an open position closes at the outcome (simulateGame after its loop). The signal's
 * price is the outcome, its t and fair the game's last tick's, its edge fair - outcome.
 */
export function settle(state: StrategyState, p: StrategyParams, outcome: number, last: Tick): SignalDraft | null {
  if (state.pos === 0) return null;
  const t = state.pos * (outcome - state.ep) - p.fee;
  state.pnl += t;
  state.trades++;
  if (t > 0) state.wins++;
  state.pos = 0;
  return { action: "settle", t: last.t, price: outcome, fair: last.fair, edge: last.fair - outcome, pnl: t };
}
