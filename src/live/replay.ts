// Replays (live.md "Ingest"), the feed for demos and tests: stored games sent again, as new live
// games named prefix + id, through the ingest's one code path, paced by their t gaps divided by
// speed, each settled at its stored outcome. The clock and the sleep are passed in, so tests
// neither wait nor depend on the wall clock; a replay can be cancelled between two batches.
import { inArray } from "drizzle-orm";
import type { Identity } from "../access/roles";
import type { Database } from "../db/database";
import { games, liveGames } from "../db/schema";
import { domainErrorOf, invalid, notFound, wrongState } from "../errors";
import { gameIdProblem, lookupIdProblem, quoteValue } from "../games/ids";
import { gameIdsInOrder, loadGames, type StoredGame } from "../games/repository";
import { checkMayCancel, creatorOf } from "../jobs/ownership";
import type { Logger } from "../log/logger";

export interface ReplayTick { game_id: string; t: number; price: number; fair: number }

export interface ReplayDeps {
  database: () => Database;
  /** The ingest's entry point (the HTTP ingest's own, publishing included). */
  ingest: (database: Database, ticks: ReplayTick[], now: Date) => Promise<unknown>;
  settle: (database: Database, gameId: string, outcome: 0 | 1, now: Date) => Promise<unknown>;
  /** Milliseconds, for pacing (default performance.now). */
  now?: () => number;
  /** Resolves after `ms`, or early when `signal` aborts (default: an unref'd timer). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  logger?: Logger;
}

export const REPLAY_LIMITS = {
  maxGames: 1000,
  /** Every tick of a replay is held in memory until it is sent. */
  maxTicks: 5_000_000,
  minSpeed: 0.01,
  maxSpeed: 1e6,
  maxPrefix: 100,
  /** Ticks due at once go in one ingest call, at most this many. */
  batch: 5000,
} as const;

export type ReplayStatus = "running" | "complete" | "cancelled" | "error";

export interface ReplaySnapshot {
  replay_id: string;
  status: ReplayStatus;
  /** The live games it makes, in the order given (prefix + stored id). */
  games: string[];
  speed: number;
  ticks: number;
  total_ticks: number;
  settled: number;
  error: string | null;
  created_by: string | null;
}

interface Replay {
  snapshot: ReplaySnapshot;
  ownerToken: string | null;
  abort: AbortController;
  done: Promise<void>;
}

export interface ReplayPlan { sources: string[]; speed: number; prefix: string }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function numberField(raw: unknown, name: string, def: number, min: number, max: number, integer: boolean): number {
  if (raw === undefined || raw === null) return def;
  const rule = integer ? `must be an integer from ${min} to ${max}` : `must be a number from ${min} to ${max}`;
  if (typeof raw !== "number" || !Number.isFinite(raw) || (integer && !Number.isInteger(raw)) || raw < min || raw > max) {
    throw invalid(`${name}: ${rule}, got ${quoteValue(raw)}`);
  }
  return raw;
}

/** The request checked at the edge: which stored games (in game order for `count`), how fast, under which prefix. */
export async function planReplay(database: Database, input: unknown): Promise<ReplayPlan> {
  if (!isObject(input)) throw invalid("body: must be a JSON object with games or count");
  const speed = numberField(input.speed, "speed", 1, REPLAY_LIMITS.minSpeed, REPLAY_LIMITS.maxSpeed, false);
  const prefix = input.prefix ?? "replay-";
  if (typeof prefix !== "string") throw invalid(`prefix: must be a string, got ${quoteValue(prefix)}`);
  if (prefix.length > REPLAY_LIMITS.maxPrefix) throw invalid(`prefix: must be at most ${REPLAY_LIMITS.maxPrefix} characters`);
  const hasGames = input.games !== undefined && input.games !== null;
  const hasCount = input.count !== undefined && input.count !== null;
  if (hasGames === hasCount) throw invalid("games: give either games (a list of stored game ids) or count, not both or neither");
  let sources: string[];
  if (hasGames) {
    const list = input.games;
    if (!Array.isArray(list)) throw invalid("games: must be a list of game ids (strings)");
    if (list.length === 0) throw invalid("games: must name at least one game id");
    if (list.length > REPLAY_LIMITS.maxGames) throw invalid(`games: at most ${REPLAY_LIMITS.maxGames} ids`);
    sources = [...new Set(list.map(sourceId))];
    const { unknown } = await gameIdsInOrder(database, sources);
    if (unknown.length) throw notFound(`games: no stored game ${quoteValue(unknown[0])}${unknown.length > 1 ? ` and ${unknown.length - 1} more` : ""}`);
  } else {
    const count = numberField(input.count, "count", 0, 1, REPLAY_LIMITS.maxGames, true);
    // Game order, then the first `count`: the same games on every call over the same store.
    sources = (await gameIdsInOrder(database)).ids.slice(0, count);
    if (sources.length === 0) throw invalid("count: no games stored; import games first (or load the demo data)");
  }
  for (const id of sources) {
    const problem = gameIdProblem(prefix + id);
    if (problem) throw invalid(`prefix: the live game id ${quoteValue(prefix + id)} ${problem}`);
  }
  return { sources, speed, prefix };
}

/** A stored game's id as named in a request: refused only when no stored id could be it (README "Games"). */
function sourceId(raw: unknown): string {
  if (typeof raw !== "string") throw invalid(`games: must be a game id (a string), got ${quoteValue(raw)}`);
  const problem = lookupIdProblem(raw);
  if (problem) throw invalid(`games: game id ${quoteValue(raw)} ${problem}`);
  return raw;
}

const defaultSleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  if (signal.aborted) return resolve();
  const timer = setTimeout(done, ms);
  // A replay in progress must not keep a stopping process alive.
  (timer as { unref?: () => void }).unref?.();
  function done() {
    clearTimeout(timer);
    signal.removeEventListener("abort", done);
    resolve();
  }
  signal.addEventListener("abort", done, { once: true });
});

/** Every tick of every game on one timeline: due time (ms after the start), game and tick, in due order. */
function timeline(loaded: StoredGame[], speed: number) {
  const n = loaded.reduce((s, g) => s + g.t.length, 0);
  const due = new Float64Array(n), game = new Int32Array(n), tick = new Int32Array(n);
  let k = 0;
  loaded.forEach((g, gi) => {
    for (let i = 0; i < g.t.length; i++, k++) {
      due[k] = ((g.t[i] - g.t[0]) / speed) * 1000;
      game[k] = gi;
      tick[k] = i;
    }
  });
  // Stable by due time: one game's ticks stay in t order, and games of equal times in the order given.
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => due[a] - due[b] || a - b);
  return { n, due, game, tick, order };
}

export class Replays {
  private readonly running = new Map<string, Replay>();
  private readonly finished = new Map<string, ReplaySnapshot>();
  /** Live ids a running replay will make: a second replay naming one is refused before it starts. */
  private readonly reserved = new Set<string>();
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(private readonly deps: ReplayDeps) {
    this.now = deps.now ?? (() => performance.now());
    this.sleep = deps.sleep ?? defaultSleep;
  }

  /** Checks, loads and starts a replay; refuses (409) up front when a target id exists already. */
  async start(input: unknown, identity: Identity | null): Promise<ReplaySnapshot> {
    const database = this.deps.database();
    const plan = await planReplay(database, input);
    const targets = plan.sources.map((id) => plan.prefix + id);
    const taken = targets.find((id) => this.reserved.has(id));
    if (taken) throw wrongState(`game ${quoteValue(taken)} is being replayed already`);
    const existing = await existingIds(database, targets);
    if (existing.length) throw wrongState(`game ${quoteValue(existing[0])} exists already (live or stored)${existing.length > 1 ? `, and ${existing.length - 1} more` : ""}; choose another prefix`);
    const loaded: StoredGame[] = [];
    for await (const part of loadGames(database, plan.sources)) loaded.push(...part);
    const total = loaded.reduce((s, g) => s + g.t.length, 0);
    if (total > REPLAY_LIMITS.maxTicks) throw invalid(`games: ${total} ticks is more than a replay holds (${REPLAY_LIMITS.maxTicks}); replay fewer games`);
    // Checked and reserved in one turn of the event loop after the awaits, so two requests cannot both pass.
    const late = targets.find((id) => this.reserved.has(id));
    if (late) throw wrongState(`game ${quoteValue(late)} is being replayed already`);
    for (const id of targets) this.reserved.add(id);

    const id = crypto.randomUUID();
    const snapshot: ReplaySnapshot = {
      replay_id: id, status: "running", games: loaded.map((g) => plan.prefix + g.id), speed: plan.speed, ticks: 0, total_ticks: total,
      settled: 0, error: null, created_by: identity?.name ?? null,
    };
    const abort = new AbortController();
    const replay: Replay = { snapshot, ownerToken: creatorOf(identity).tokenId, abort, done: Promise.resolve() };
    this.running.set(id, replay);
    replay.done = this.run(replay, loaded, plan).finally(() => {
      for (const t of targets) this.reserved.delete(t);
      this.running.delete(id);
      this.finished.set(id, snapshot);
      // Finished ones are kept for their status, the last hundred.
      if (this.finished.size > 100) this.finished.delete(this.finished.keys().next().value!);
    });
    return { ...snapshot };
  }

  get(id: string): ReplaySnapshot | undefined {
    const s = this.running.get(id)?.snapshot ?? this.finished.get(id);
    return s && { ...s };
  }

  list(): ReplaySnapshot[] {
    return [...this.running.values()].map((r) => ({ ...r.snapshot }));
  }

  /** Stops a running replay after the batch in flight (the live games stay live where they stopped); resolves once it has. */
  async cancel(id: string, identity: Identity | null): Promise<ReplaySnapshot> {
    const replay = this.running.get(id);
    if (!replay) {
      const done = this.finished.get(id);
      if (!done) throw notFound("Replay not found");
      throw wrongState(`the replay is already ${done.status}`, { status: done.status });
    }
    checkMayCancel(identity, { createdByToken: replay.ownerToken });
    replay.abort.abort();
    await replay.done;
    return { ...replay.snapshot };
  }

  /** Cancels every running replay (at shutdown). */
  async stop(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort();
    await Promise.all(all.map((r) => r.done));
  }

  private async run(replay: Replay, loaded: StoredGame[], plan: ReplayPlan): Promise<void> {
    const s = replay.snapshot;
    const signal = replay.abort.signal;
    const { n, due, game, tick, order } = timeline(loaded, plan.speed);
    const lastOf = loaded.map((g) => g.t.length - 1);
    const start = this.now();
    try {
      for (let i = 0; i < n && !signal.aborted;) {
        const wait = start + due[order[i]] - this.now();
        if (wait > 0) await this.sleep(wait, signal);
        if (signal.aborted) break;
        // Everything due by now goes in one request: a fast replay is a few large batches, not one request per tick.
        const elapsed = this.now() - start;
        const batch: ReplayTick[] = [];
        const ending: number[] = [];
        do {
          const k = order[i++];
          const g = loaded[game[k]], j = tick[k];
          batch.push({ game_id: plan.prefix + g.id, t: g.t[j], price: g.price[j], fair: g.fair[j] });
          if (j === lastOf[game[k]]) ending.push(game[k]);
        } while (i < n && due[order[i]] <= elapsed && batch.length < REPLAY_LIMITS.batch);
        const database = this.deps.database();
        await this.deps.ingest(database, batch, new Date());
        s.ticks += batch.length;
        for (const gi of ending) {
          await this.deps.settle(database, plan.prefix + loaded[gi].id, loaded[gi].outcome, new Date());
          s.settled++;
        }
      }
      s.status = signal.aborted ? "cancelled" : "complete";
    } catch (err) {
      // A refusal (someone settled or fed one of its games meanwhile) or the store going away: the
      // replay ends, says why, and the server goes on.
      s.status = "error";
      s.error = domainErrorOf(err)?.message ?? (err as Error).message;
      this.deps.logger?.warn("replay stopped", { replay_id: s.replay_id, error: s.error });
    }
  }
}

/** Which of `ids` name a live game (settled or not) or a stored game already. */
async function existingIds(database: Database, ids: string[]): Promise<string[]> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    const [live, stored] = await Promise.all([
      database.db.select({ id: liveGames.id }).from(liveGames).where(inArray(liveGames.id, part)),
      database.db.select({ id: games.id }).from(games).where(inArray(games.id, part)),
    ]);
    for (const r of [...live, ...stored]) found.add(r.id);
  }
  return ids.filter((id) => found.has(id));
}
