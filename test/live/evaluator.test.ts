// The incremental step is simulateGame cut at its loop: over random games and pairs, stepping one
// tick at a time and settling gives the kernel's very doubles, and the signals sum to them.
import { expect, test } from "bun:test";
import { simulateGame } from "../../src/compute/kernel";
import { freshState, settle, step, type SignalDraft } from "../../src/live/evaluator";
import { randomGames } from "../support/reference";

test("stepping tick by tick equals simulateGame exactly, and the signals add up to it", () => {
  const { games } = randomGames(200, 3);
  const pairs = [[0.02, 0, 0], [0.05, 0.01, 0.005], [0.1, 0.05, 0.01], [0.03, -0.02, 0.002]];
  for (const g of games) for (const [entry, exit, fee] of pairs) {
    const price = Float64Array.from(g.ticks, (t) => t.price);
    const fair = Float64Array.from(g.ticks, (t) => t.fair);
    const ref = simulateGame(price, fair, 0, price.length, g.outcome, entry, exit, fee);
    const state = freshState();
    const out: SignalDraft[] = [];
    for (const tk of g.ticks) {
      const d = step(state, { entry, exit, fee }, tk);
      if (d) out.push(d);
    }
    const last = settle(state, { entry, exit, fee }, g.outcome, g.ticks.at(-1)!);
    if (last) out.push(last);
    expect([state.pnl, state.trades, state.wins]).toEqual([ref.pnl, ref.trades, ref.wins]);
    let sum = 0;
    for (const s of out) if (s.pnl !== null) sum += s.pnl;
    expect(sum).toBe(ref.pnl);
    // Opens and closes alternate; a close is never followed by an open on the same tick.
    for (let i = 1; i < out.length; i++) {
      if (out[i].action.startsWith("open")) expect(out[i - 1].action).toBe("close");
      if (out[i].action.startsWith("open")) expect(out[i].t).not.toBe(out[i - 1].t);
    }
  }
});

test("a NaN edge neither opens nor closes", () => {
  const state = freshState();
  expect(step(state, { entry: 0.1, exit: 0, fee: 0 }, { t: 1, price: NaN, fair: 0.5 })).toBeNull();
  step(state, { entry: 0.1, exit: 0, fee: 0 }, { t: 2, price: 0.4, fair: 0.6 });
  expect(state.pos).toBe(1);
  expect(step(state, { entry: 0.1, exit: 0, fee: 0 }, { t: 3, price: NaN, fair: 0.5 })).toBeNull();
  expect(state.pos).toBe(1);
});
