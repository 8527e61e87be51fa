// The games of a job packed once into SharedArrayBuffers, read by every worker without copying.
// Ids stay on the main thread; `version` lets a cache keep a store while its data is unchanged.

export interface GameInput {
  id: string;
  price: ArrayLike<number>;
  fair: ArrayLike<number>;
  outcome: 0 | 1;
}

/** What crosses to a worker: only the buffers and the counts needed to view them. */
export interface SharedStore {
  /** Unique per built store (version plus a counter): workers cache their views under it. */
  key: string;
  games: number;
  ticks: number;
  price: SharedArrayBuffer;
  fair: SharedArrayBuffer;
  offsets: SharedArrayBuffer;
  outcomes: SharedArrayBuffer;
}

/** Typed views over a store's buffers; game g's ticks are [offsets[g], offsets[g + 1]). */
export interface StoreViews {
  games: number;
  ticks: number;
  price: Float64Array;
  fair: Float64Array;
  offsets: Int32Array;
  outcomes: Uint8Array;
}

export interface GameStore extends StoreViews {
  version: string;
  ids: readonly string[];
  /** Bytes held in shared memory: ticks * 16 plus (games + 1) * 4 plus games. */
  byteLength: number;
  shared(): SharedStore;
}

export interface StoreBuilder {
  beginGame(id: string, outcome: 0 | 1): void;
  tick(price: number, fair: number): void;
  addGame(game: GameInput): void;
  /** Checks that exactly the announced games and ticks arrived, then returns the store. */
  finish(): GameStore;
}

// Offsets are Int32: 2^31 ticks would already be 32 GB of prices and fair values.
const MAX_TICKS = 2 ** 31 - 1;
let built = 0;

/** Rebuild the typed views inside a worker (or anywhere) from the posted buffers. */
export function storeViews(s: SharedStore): StoreViews {
  return {
    games: s.games,
    ticks: s.ticks,
    price: new Float64Array(s.price),
    fair: new Float64Array(s.fair),
    offsets: new Int32Array(s.offsets),
    outcomes: new Uint8Array(s.outcomes),
  };
}

/** Build incrementally into buffers sized up front, so the caller can stream games (e.g. from
 *  the database) without holding a second copy of every tick. */
export function createStoreBuilder(version: string, games: number, ticks: number): StoreBuilder {
  if (!Number.isInteger(games) || games < 0) throw new RangeError(`bad game count ${games}`);
  if (!Number.isInteger(ticks) || ticks < 0 || ticks > MAX_TICKS) throw new RangeError(`bad tick count ${ticks}`);
  const sab = {
    price: new SharedArrayBuffer(ticks * 8),
    fair: new SharedArrayBuffer(ticks * 8),
    offsets: new SharedArrayBuffer((games + 1) * 4),
    outcomes: new SharedArrayBuffer(games),
  };
  const key = `${version}#${++built}`;
  const views = storeViews({ key, games, ticks, ...sab });
  const ids: string[] = [];
  let t = 0;
  let finished = false;

  const tick = (price: number, fair: number) => {
    if (ids.length === 0) throw new Error("tick before the first game");
    if (t >= ticks) throw new RangeError(`more than the announced ${ticks} ticks`);
    views.price[t] = price;
    views.fair[t] = fair;
    t++;
  };
  const beginGame = (id: string, outcome: 0 | 1) => {
    if (finished) throw new Error("store already finished");
    if (ids.length >= games) throw new RangeError(`more than the announced ${games} games`);
    views.offsets[ids.length] = t;
    views.outcomes[ids.length] = outcome;
    ids.push(id);
  };
  return {
    beginGame,
    tick,
    addGame(g) {
      if (g.price.length !== g.fair.length) throw new RangeError(`game ${g.id}: price and fair lengths differ`);
      beginGame(g.id, g.outcome);
      if (t + g.price.length > ticks) throw new RangeError(`more than the announced ${ticks} ticks`);
      if (g.price instanceof Float64Array && g.fair instanceof Float64Array) {
        views.price.set(g.price, t);
        views.fair.set(g.fair, t);
        t += g.price.length;
      } else for (let i = 0; i < g.price.length; i++) tick(g.price[i], g.fair[i]);
    },
    finish() {
      if (ids.length !== games || t !== ticks) {
        throw new Error(`store got ${ids.length}/${games} games and ${t}/${ticks} ticks`);
      }
      finished = true;
      views.offsets[games] = t;
      const shared: SharedStore = { key, games, ticks, ...sab };
      return {
        ...views,
        version,
        ids,
        byteLength: sab.price.byteLength + sab.fair.byteLength + sab.offsets.byteLength + sab.outcomes.byteLength,
        shared: () => shared,
      };
    },
  };
}

/** Build from games already in game order. */
export function buildStore(games: readonly GameInput[], version: string): GameStore {
  let ticks = 0;
  for (const g of games) ticks += g.price.length;
  const b = createStoreBuilder(version, games.length, ticks);
  for (const g of games) b.addGame(g);
  return b.finish();
}
