// The one drizzle pg-core schema, shared by PGlite and PostgreSQL: games, jobs and their results,
// the tokens and sessions of access.md, and live games, deployed strategies and signals (live.md).
import {
  bigint, boolean, customType, doublePrecision, index, uniqueIndex, integer, jsonb, pgEnum, pgTable, primaryKey,
  smallint, text, timestamp,
} from "drizzle-orm/pg-core";

/** Packed float64 arrays travel as bytea: one row per game loads in one query, not one per tick. */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer)),
});

const createdAt = () => timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();

export const games = pgTable("games", {
  id: text("id").primaryKey(),
  firstT: doublePrecision("first_t").notNull(),
  tickCount: integer("tick_count").notNull(),
  outcome: smallint("outcome").notNull(),
  synthetic: boolean("synthetic").notNull().default(false),
  importedAt: timestamp("imported_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
}, (t) => [index("games_order_idx").on(t.firstT, t.id)]);

/** Ticks of one game ordered by t, as packed little-endian float64 arrays (src/games/packed.ts). */
export const gameTicks = pgTable("game_ticks", {
  gameId: text("game_id").primaryKey().references(() => games.id, { onDelete: "cascade" }),
  t: bytea("t").notNull(),
  price: bytea("price").notNull(),
  fair: bytea("fair").notNull(),
});

/** Small key/value facts about the store, e.g. the data version that compute caches key on. */
export const meta = pgTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

export const imports = pgTable("imports", {
  id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
  source: text("source").notNull(),
  fileName: text("file_name"),
  fileSize: bigint("file_size", { mode: "number" }),
  fileMtime: doublePrecision("file_mtime"),
  status: text("status").notNull(),
  games: integer("games"),
  ticks: bigint("ticks", { mode: "number" }),
  error: text("error"),
  startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }),
});

export const jobKind = pgEnum("job_kind", ["grid_search", "simulation"]);
export const jobState = pgEnum("job_state", ["queued", "running", "complete", "error", "cancelled"]);

export const jobs = pgTable("jobs", {
  id: text("id").primaryKey(),
  kind: jobKind("kind").notNull(),
  state: jobState("state").notNull().default("queued"),
  params: jsonb("params").notNull(),
  /** The job's games in game order, fixed at submission so a resumed job sees the same data. */
  gameIds: jsonb("game_ids").$type<string[]>().notNull(),
  total: bigint("total", { mode: "number" }).notNull().default(0),
  current: bigint("current", { mode: "number" }).notNull().default(0),
  currentCombo: text("current_combo").notNull().default(""),
  error: text("error"),
  summary: jsonb("summary"),
  createdAt: createdAt(),
  startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }),
  finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }),
  /** The token's name (access.md "Ownership"); null when auth is off. Shown, never compared. */
  createdBy: text("created_by"),
  /** The token's id: what ownership checks compare, since names need not be unique. No foreign
   * key: a job outlives a deleted token and keeps saying who started it. */
  createdByToken: text("created_by_token"),
  /** The node that runs the job's life (its states, the fold of its units, its results) on a
   *  shared PostgreSQL (src/cluster/job-claims.ts); null on PGlite and before a node takes it. */
  ownerNode: text("owner_node"),
}, (t) => [index("jobs_state_idx").on(t.state, t.createdAt)]);

/**
 * The units of a running job still to be computed, as claimable rows (cluster.md): a node's pool
 * claims a few (`for update skip locked`), computes them and deletes their rows in the transaction
 * that stores them in job_units. A claim whose node is gone from `nodes` (its lease ran out) is
 * claimable again. Only on a shared PostgreSQL: a single node hands out its units in memory.
 */
export const jobClaims = pgTable("job_claims", {
  jobId: text("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
  unit: integer("unit").notNull(),
  nodeId: text("node_id"),
}, (t) => [primaryKey({ columns: [t.jobId, t.unit] })]);

/** Finished work units of a job (their partial sums), written in batches: what a restart resumes from. */
export const jobUnits = pgTable("job_units", {
  jobId: text("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
  unit: integer("unit").notNull(),
  payload: bytea("payload").notNull(),
}, (t) => [primaryKey({ columns: [t.jobId, t.unit] })]);

export const gridResults = pgTable("grid_results", {
  jobId: text("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
  pair: integer("pair").notNull(),
  entry: doublePrecision("entry").notNull(),
  exit: doublePrecision("exit").notNull(),
  trainPnl: doublePrecision("train_pnl").notNull(),
  trainTrades: integer("train_trades").notNull(),
  trainWins: integer("train_wins").notNull(),
  validPnl: doublePrecision("valid_pnl").notNull(),
  validTrades: integer("valid_trades").notNull(),
  validWins: integer("valid_wins").notNull(),
  testPnl: doublePrecision("test_pnl").notNull(),
  testTrades: integer("test_trades").notNull(),
  testWins: integer("test_wins").notNull(),
}, (t) => [primaryKey({ columns: [t.jobId, t.pair] })]);

export const simulationGames = pgTable("simulation_games", {
  jobId: text("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
  idx: integer("idx").notNull(),
  gameId: text("game_id").notNull(),
  pnl: doublePrecision("pnl").notNull(),
  trades: integer("trades").notNull(),
  wins: integer("wins").notNull(),
  equity: doublePrecision("equity").notNull(),
}, (t) => [primaryKey({ columns: [t.jobId, t.idx] })]);

export const tokenRole = pgEnum("token_role", ["viewer", "operator", "admin"]);
export const tokenTier = pgEnum("token_tier", ["starter", "pro"]);

const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** Tokens (access.md "Identities"): only the SHA-256 of the secret is kept, never the secret. */
export const tokens = pgTable("tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  role: tokenRole("role").notNull(),
  tier: tokenTier("tier").notNull().default("starter"),
  hash: text("hash").notNull().unique(),
  createdAt: createdAt(),
  expiresAt: at("expires_at"),
  lastUsedAt: at("last_used_at"),
  revokedAt: at("revoked_at"),
});

/** Browser sessions: the id is the SHA-256 of the cookie's secret, so a read of the table cannot sign in. */
export const sessions = pgTable("sessions", {
  id: text("id").primaryKey(),
  tokenId: text("token_id").notNull().references(() => tokens.id, { onDelete: "cascade" }),
  csrf: text("csrf").notNull(),
  createdAt: createdAt(),
  expiresAt: at("expires_at").notNull(),
}, (t) => [index("sessions_token_idx").on(t.tokenId)]);

/** A game whose ticks are still arriving (live.md). The row stays after settlement (settled_at,
 * outcome set) so a late tick or a second settle is refused; the ticks then live in games. */
export const liveGames = pgTable("live_games", {
  id: text("id").primaryKey(),
  startedAt: at("started_at").notNull().defaultNow(),
  tickCount: integer("tick_count").notNull(),
  lastT: doublePrecision("last_t").notNull(),
  lastPrice: doublePrecision("last_price").notNull(),
  lastFair: doublePrecision("last_fair").notNull(),
  settledAt: at("settled_at"),
  outcome: smallint("outcome"),
}, (t) => [index("live_games_settled_idx").on(t.settledAt, t.startedAt)]);

/** A live game's ticks as received, seq 0, 1, ... in arrival (and so t) order, one chunk per
 * (game, ingest request): seqs first_seq .. first_seq + count - 1 as packed float64 arrays like
 * game_ticks, so a request writes a row per game it touches instead of a row per tick (issue 12).
 * What a strategy deployed mid-game is replayed over, once. Deleted at settlement, when
 * game_ticks holds them. received_at: when the ingest stored the chunk, so a starter identity's
 * view holds only what is old enough. No foreign key to live_games: live games are never deleted,
 * ingest writes the game row in the same transaction, and the per-row check was ingest's cost. */
export const liveTickChunks = pgTable("live_tick_chunks", {
  gameId: text("game_id").notNull(),
  firstSeq: integer("first_seq").notNull(),
  count: integer("count").notNull(),
  t: bytea("t").notNull(),
  price: bytea("price").notNull(),
  fair: bytea("fair").notNull(),
  receivedAt: at("received_at").notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.gameId, t.firstSeq] })]);

export const strategyStatus = pgEnum("strategy_status", ["active", "stopped"]);

/** A deployed (entry, exit, fee) pair of strategy.md, run on every live game. */
export const strategies = pgTable("strategies", {
  id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
  name: text("name").notNull(),
  entry: doublePrecision("entry").notNull(),
  exit: doublePrecision("exit").notNull(),
  fee: doublePrecision("fee").notNull(),
  status: strategyStatus("status").notNull().default("active"),
  createdAt: createdAt(),
  /** As on jobs: the token's name, shown; its id, compared. Null with auth off. */
  createdBy: text("created_by"),
  createdByToken: text("created_by_token"),
  stoppedAt: at("stopped_at"),
  // Its totals over every game so far (strategy.md's pnl, trades, wins; the games it has a state
  // on; its open positions), moved by each live write with the signals it stores, in the same
  // transaction: the states themselves are packed a row per game (gameStates).
  pnl: doublePrecision("pnl").notNull().default(0),
  trades: integer("trades").notNull().default(0),
  wins: integer("wins").notNull().default(0),
  games: integer("games").notNull().default(0),
  openPositions: integer("open_positions").notNull().default(0),
});

/**
 * The evaluator's state per (strategy, game), a row per game: a restart resumes each strategy
 * after its last_seq, so it neither repeats nor skips a signal. `states` is packed little-endian
 * float64 (src/games/packed.ts), STATE_FIELDS numbers per strategy with a state on the game, in
 * ascending strategy id: one row a game, not one per (strategy, game), because writing those
 * rows was most of a busy ingest's time on the server (issue 12). A last_seq of -1: no tick
 * evaluated yet. No foreign keys: strategies and live games are never deleted.
 */
export const gameStates = pgTable("game_states", {
  gameId: text("game_id").primaryKey(),
  states: bytea("states").notNull(),
});

/** A strategy's state in gameStates.states, in this order (every value exact as a float64). */
export const STATE_FIELDS = ["strategy_id", "pos", "ep", "pnl", "trades", "wins", "last_seq"] as const;

export const SIGNAL_ACTIONS = ["open_long", "open_short", "close", "settle"] as const;

/**
 * Signals, stored as runs: the signals one transaction gave one strategy, ids (and `seq`, and
 * `strategy_seq`) consecutive from the run's first, each field one array over the run. A busy
 * ingest stores a row per strategy, not a row per signal: a signal row and its five index entries
 * were most of an ingest request's time (issue 12). A migrated signal is a run of one.
 * `seq` and `strategy_seq` number the messages of the `signals` and `signals:{id}` topics (1, 2,
 * ... without gaps), so their history survives restarts (protocol.md); ids increase with them.
 * No foreign keys: strategies and live games are never deleted, and their ids come from rows the
 * same transaction reads or writes under the live lock. src/live/signals.ts reads and writes them.
 * Since migration 0012 a run is as few bytes as it can be (its bytes were most of what an ingest
 * request sent and the server stored): each signal is a game index, an action byte and four numbers.
 */
export const signalRuns = pgTable("signal_runs", {
  firstId: bigint("first_id", { mode: "number" }).primaryKey(),
  firstSeq: bigint("first_seq", { mode: "number" }).notNull(),
  strategyId: integer("strategy_id").notNull(),
  firstStrategySeq: integer("first_strategy_seq").notNull(),
  count: integer("count").notNull(),
  /** When they were emitted (the ingest's `now`): one time for the whole transaction. */
  at: at("at").notNull(),
  /** The run's games, each once, in the order they first appear (a run of a busy ingest has a
   * signal on each game many times). Null gameIndex (runs stored before 0012): one id per signal. */
  gameIds: text("game_ids").array().notNull(),
  /** Per signal, its game's position in gameIds: packed little-endian uint16 (a run is on at most
   * MAX_GAMES_PER_REQUEST games). */
  gameIndex: bytea("game_index"),
  /** Per signal, one byte: its action's index in SIGNAL_ACTIONS. */
  actions: bytea("action_codes").notNull(),
  /** The numbers as packed little-endian float64 (src/games/packed.ts), as ticks are, no number
   * printed or parsed on the way in or out: t of every signal, then price, fair and P&L (NaN
   * where null, on opens: no stored P&L is NaN, ticks being finite). One value, not four: each
   * large value is a TOAST entry of its own. A signal's edge is fair - price (evaluator.ts), so
   * it is not stored. */
  numbers: bytea("numbers").notNull(),
}, (t) => [
  uniqueIndex("signal_runs_seq_idx").on(t.firstSeq), uniqueIndex("signal_runs_strategy_seq_idx").on(t.strategyId, t.firstStrategySeq),
  index("signal_runs_games_idx").using("gin", t.gameIds),
]);

/** The performance history (README "Performance history and alerts"): one row of the daemon's
 * figures per --metrics-history-interval-ms, pruned after --metrics-retention. Rates and p99s are
 * over the interval before `at`; `alerts` are the alerts active at `at`, so they keep as long. */
export const metricsHistory = pgTable("metrics_history", {
  id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  at: at("at").notNull(),
  intervalMs: integer("interval_ms").notNull(),
  connections: integer("connections").notNull(),
  messagesPerSecond: doublePrecision("messages_per_second").notNull(),
  bytesPerSecond: doublePrecision("bytes_per_second").notNull(),
  drops: bigint("drops", { mode: "number" }).notNull(),
  dropsPerSecond: doublePrecision("drops_per_second").notNull(),
  publishP99Ms: doublePrecision("publish_p99_ms"),
  dataAgeP99Ms: doublePrecision("data_age_p99_ms"),
  eventLoopLagP99Ms: doublePrecision("event_loop_lag_p99_ms"),
  storeLatencyMs: doublePrecision("store_latency_ms"),
  jobs: jsonb("jobs").notNull(),
  busyWorkers: integer("busy_workers").notNull(),
  rssBytes: bigint("rss_bytes", { mode: "number" }).notNull(),
  cpuPercent: doublePrecision("cpu_percent").notNull(),
  alerts: jsonb("alerts").notNull(),
}, (t) => [index("metrics_history_at_idx").on(t.at)]);

/** The node registry (README "Several daemons (cluster)"): one row per daemon on a shared
 * PostgreSQL, its heartbeat renewed every --heartbeat-ms; a row older than --lease-ms is a node gone.
 * `instance` is the process that holds the id, so a heartbeat never renews a row another took over.
 * Times are epoch ms from each node's clock: the nodes' clocks must agree well within the lease. */
export const nodes = pgTable("nodes", {
  id: text("id").primaryKey(),
  instance: text("instance").notNull(),
  host: text("host").notNull(),
  port: integer("port").notNull(),
  startedAt: bigint("started_at", { mode: "number" }).notNull(),
  lastHeartbeat: bigint("last_heartbeat", { mode: "number" }).notNull(),
  workers: integer("workers").notNull(),
  busy: integer("busy").notNull(),
  version: text("version").notNull(),
});

export const schema = {
  games, gameTicks, meta, imports, jobs, jobUnits, gridResults, simulationGames, jobKind, jobState,
  tokens, sessions, tokenRole, tokenTier,
  liveGames, liveTickChunks, strategyStatus, strategies, gameStates, signalRuns,
  metricsHistory, nodes, jobClaims,
};
