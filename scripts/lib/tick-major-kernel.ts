// A second kernel, tick-major: one pass over a game, each tick applied to every pair's state in typed
// arrays. Not used by gridcast; kept for scripts/bench-kernel.ts to compare against evalGame.

let posBuf: Float64Array = new Float64Array(1024);
let epBuf: Float64Array = new Float64Array(1024);
const grow = (buf: Float64Array, n: number) => (buf.length >= n ? buf : new Float64Array(Math.max(n, buf.length * 2)));

/** Same contract as evalGame, tick-major: one pass over the game, each tick applied to every
 *  pair's state in typed arrays. The benchmark's alternative. */
export function evalGameTickMajor(
  price: Float64Array, fair: Float64Array, start: number, end: number, outcome: number,
  entries: Float64Array, exits: Float64Array, pairFrom: number, pairTo: number, fee: number,
  outPnl: Float64Array, outTrades: Float64Array, outWins: Float64Array,
): void {
  const m = pairTo - pairFrom;
  posBuf = grow(posBuf, m);
  epBuf = grow(epBuf, m);
  const pos = posBuf;
  const ep = epBuf;
  pos.fill(0, 0, m);
  outPnl.fill(0, 0, m);
  outTrades.fill(0, 0, m);
  outWins.fill(0, 0, m);
  const fee2 = 2 * fee;
  for (let i = start; i < end; i++) {
    const px = price[i];
    const edge = fair[i] - px;
    for (let j = 0; j < m; j++) {
      const q = pos[j];
      if (q !== 0) {
        if (q * edge <= exits[pairFrom + j]) {
          const t = q * (px - ep[j]) - fee2;
          outPnl[j] += t;
          outTrades[j]++;
          if (t > 0) outWins[j]++;
          pos[j] = 0;
        }
      } else if (edge >= entries[pairFrom + j]) {
        pos[j] = 1;
        ep[j] = px;
      } else if (-edge >= entries[pairFrom + j]) {
        pos[j] = -1;
        ep[j] = px;
      }
    }
  }
  for (let j = 0; j < m; j++) {
    if (pos[j] === 0) continue;
    const t = pos[j] * (outcome - ep[j]) - fee;
    outPnl[j] += t;
    outTrades[j]++;
    if (t > 0) outWins[j]++;
  }
}
