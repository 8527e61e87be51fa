// The shapes the routes answer and take, as JSON Schema (Elysia's `t`), for their `detail`
// (src/http/openapi.ts): protocol.md's and live.md's wire formats. Descriptions only, never
// validators: the handlers check their input themselves and answer with the project's messages.
// test/http/openapi.test.ts holds real answers against these.
import { t, type TSchema } from "elysia";

const Num = (description?: string) => t.Number(description ? { description } : {});
/**
 * An integer, as JSON Schema has it. Not `t.Integer`: Elysia's also takes a numeric string (for
 * its own query coercion), which would describe a JSON answer's numbers as strings too.
 */
export const Int = (options: string | { description?: string; minimum?: number; maximum?: number; default?: number } = {}) =>
  t.Unsafe<number>({ type: "integer", ...(typeof options === "string" ? { description: options } : options) });
const Str = (description?: string) => t.String(description ? { description } : {});
const Nullable = <T extends TSchema>(s: T) => t.Union([s, t.Null()]);
const Time = (description = "ISO 8601 time") => t.String({ format: "date-time", description });
/** A JSON number, or the same number written as a string (a query string's or a form's). */
const Numeric = (description: string) => t.Union([t.Number(), t.String()], { description });

export const JobState = t.Union(["queued", "running", "complete", "error", "cancelled"].map((s) => t.Literal(s)), { description: "a job's state" });
export const RequestId = t.Object({ request_id: Str("the job's id (a UUID)") });

export const JobProgress = t.Object({
  status: JobState,
  current: Int("units done (pairs x games)"),
  total: Int("units in all"),
  current_combo: Str("the pair last done, e.g. entry=0.050, exit=0.010"),
  error: t.Optional(Str("why the job failed")),
});
export const SimulationProgress = t.Union([
  JobProgress,
  t.Object({ status: t.Literal("not_found"), current: t.Literal(0), total: t.Literal(0) }, { description: "an unknown id (200, as the source system answered)" }),
]);

const Figures = t.Object({ pnl: Num(), trades: Int(), wins: Int() });
const PairResult = t.Object({ entry: Num(), exit: Num(), train: Figures, valid: Figures, test: Figures });

export const GridResults = t.Object({
  request_id: Str(),
  status: t.Literal("complete"),
  games: Int("games the job ran on"),
  pairs: t.Array(PairResult, { description: "ordered by entry, then exit" }),
  final_selection: Nullable(PairResult),
});
export const SimulationResults = t.Object({
  request_id: Str(),
  status: t.Literal("complete"),
  entry: Num(),
  exit: Num(),
  games: t.Array(t.Object({ game_id: Str(), pnl: Num(), trades: Int(), wins: Int(), equity: Num("running total of pnl") }), { description: "in game order" }),
  total: Figures,
});

const axis = (name: string) => ({
  [`${name}_start`]: Numeric(`first ${name} threshold`),
  [`${name}_stop`]: Numeric(`last ${name} threshold (inclusive)`),
  [`${name}_step`]: Numeric(`${name} step (> 0)`),
});
const Games = t.Union([t.Array(Str()), Str()], { description: "game ids to run on (a list, or comma-separated in a query); all stored games when left out" });
const Fee = Numeric("fee per trade, from 0 (default 0)");
export const GridParams = t.Object({
  ...axis("entry"), ...axis("exit"),
  fee: t.Optional(Fee),
  train_fraction: t.Optional(Numeric("share of each game's ticks for training (default 0.6)")),
  valid_fraction: t.Optional(Numeric("share for validation (default 0.2); train + valid <= 1")),
  games: t.Optional(Games),
}, { description: "a grid of (entry, exit) pairs with exit < entry, at most --max-pairs" });
export const SimulationParams = t.Object({
  entry: Numeric("entry threshold, in (0, 1]"),
  exit: Numeric("exit threshold, below entry"),
  fee: t.Optional(Fee),
  games: t.Optional(Games),
});
/** The same parameters in a query string: every field of the body, by name. */
export const queryOf = (schema: TSchema): Record<string, TSchema> => schema.properties as Record<string, TSchema>;

export const JobList = t.Object({
  jobs: t.Array(t.Object({
    request_id: Str(), kind: t.Union([t.Literal("grid_search"), t.Literal("simulation")]), created_by: Nullable(Str()),
    status: JobState, current: Int(), total: Int(), current_combo: Nullable(Str()), params: t.Object({}, { additionalProperties: true }),
    error: Nullable(Str()), created_at: Time(), started_at: Nullable(Time()), finished_at: Nullable(Time()),
  }), { description: "most recent first" }),
});
export const CancelAnswer = t.Object({ request_id: Str(), status: JobState });

export const GamesPage = t.Object({
  games: t.Array(t.Object({
    id: Str(), first_t: Num("first tick's time"), ticks: Int(), outcome: Nullable(Int("1 or 0 once settled")), synthetic: t.Boolean(), imported_at: Time(),
  })),
  total: Int("stored games"), page: Int(), per_page: Int(),
});
export const ImportResult = t.Object({ games: Int("games stored"), ticks: Int("ticks stored") });
const Progress = t.Object({ current: Int(), total: Int() });
export const UpdateStatus = t.Object({
  is_running: t.Boolean(),
  message: Str('"Update in progress" or "No update running"'),
  progress: t.Optional(Progress),
  source: t.Optional(Str()),
  updates: t.Optional(t.Array(t.Object({ source: Str(), phase: Str(), progress: Progress }))),
  last: t.Optional(t.Object({ ok: t.Boolean(), source: Str(), games: t.Optional(Int()), ticks: t.Optional(Int()), error: t.Optional(Str()), finished_at: Time() })),
});
export const UpdateStarted = t.Object({ message: Str(), files: t.Array(Str(), { description: "the inbox files being imported" }) });

/** The node registry (cluster.md): the nodes sharing this PostgreSQL, this node alone on PGlite. */
export const Cluster = t.Object({
  nodes: t.Array(t.Object({
    id: Str("the node id (--node-id)"), host: Str(), port: Int(), started_at: Time(), last_heartbeat: Time(),
    workers: Int("its worker threads"), busy: Int("of them busy at its last heartbeat"),
  })),
  self: Str("this node's id"),
  stale: t.Boolean({ description: "the list is the last one read: the store has not answered since as_of" }),
  as_of: t.Optional(Time("when the list was read")),
  error: t.Optional(Str("why the list is stale, or this node holds no row")),
  bus: t.Optional(t.Object({
    listening: t.Boolean({ description: "false: this node's LISTEN connection is down or unproven, so it misses what other nodes publish (the report is degraded)" }),
    sent: Int("messages sent to the other nodes"), notifications: Int("NOTIFYs they went in"), received: Int("messages heard from other nodes"),
    dropped: Int("messages not sent (too big for one NOTIFY)"), rejected: Int("notifications on the channel that were not gridcast messages"),
    since: t.Optional(Time("when listening last changed")), error: t.Optional(Str("why it is not listening")),
  }, { description: "in /health only: the cluster bus (LISTEN/NOTIFY)" })),
});
export const Health = t.Object({
  status: t.Union([t.Literal("ok"), t.Literal("degraded")]),
  services: t.Object({
    database: t.Object({ kind: t.Union([t.Literal("pglite"), t.Literal("postgres")]), healthy: t.Boolean(), state: Str() }, { additionalProperties: true }),
    workers: t.Object({ healthy: t.Boolean() }, { additionalProperties: true }),
    websocket: t.Object({ healthy: t.Boolean(), activeConnections: Int(), totalConnectionsTracked: Int() }),
  }, { additionalProperties: true }),
  cluster: t.Optional(Cluster),
});
export const WebSocketStatus = t.Object({
  status: t.Literal("ok"),
  timestamp: Time(),
  summary: t.Object({ activeConnections: Int(), trackedConnections: Int(), totalBroadcasts: Int(), totalErrors: Int() }),
  connections: t.Array(t.Object({ id: Str(), connectedAt: Str(), clientInfo: t.Object({ userAgent: Str(), ip: Str() }) }, { additionalProperties: true })),
  truncated: t.Optional(t.Boolean()),
}, { description: "camelCase, as the source system had it" });
const Counts = t.Record(t.String(), Int());
export const WsStats = t.Object({
  timestamp: Time(), total_connections: Int(), by_topic: Counts, by_role: Counts, by_tier: Counts, by_endpoint: Counts,
  limits: t.Object({ max_connections: Int(), max_connections_per_ip: Int() }),
});

const Role = t.Union(["viewer", "operator", "admin"].map((r) => t.Literal(r)));
const Tier = Str("starter or pro: how late the live topics reach it");
export const Token = t.Object({
  id: Str(), name: Str(), role: Role, tier: Tier, created_at: Time(), expires_at: Nullable(Time()), last_used_at: Nullable(Time()), revoked_at: Nullable(Time()),
});
export const TokenList = t.Object({ tokens: t.Array(Token) });
export const TokenCreate = t.Object({
  name: Str("who or what holds it"), role: Role, tier: t.Optional(Tier),
  expires_in: t.Optional(t.Union([Int({ minimum: 1 }), t.String()], { description: "whole seconds, or a duration such as 30d, 12h, 90m" })),
});
export const TokenCreated = t.Object({
  id: Str(), token: Str("the secret: shown in this answer only"), name: Str(), role: Role, tier: Tier, created_at: Time(), expires_at: Nullable(Time()),
});

export const Strategy = t.Object({
  id: Int(), name: Str(), entry: Num(), exit: Num(), fee: Num(), status: t.Union([t.Literal("active"), t.Literal("stopped")]),
  created_at: Time(), created_by: Nullable(Str()), stopped_at: Nullable(Time()),
});
export const StrategyWithTotals = t.Intersect([Strategy, t.Object({ pnl: Num(), trades: Int(), wins: Int(), games: Int(), open_positions: Int() })]);
export const StrategyList = t.Object({ strategies: t.Array(Strategy) });
export const StrategyCreate = t.Object({
  name: Str(), entry: t.Optional(Numeric("entry threshold")), exit: t.Optional(Numeric("exit threshold")), fee: t.Optional(Numeric("fee per trade")),
  from_job: t.Optional(Str("a complete grid search's id: deploy its final selection instead")),
}, { description: "a name and entry, exit, fee; or a name and from_job" });
export const SignalList = t.Object({
  signals: t.Array(t.Object({ id: Int(), strategy_id: Int(), game_id: Str(), at: Time() }, { additionalProperties: true, description: "a buy or sell a strategy emitted (live.md)" })),
});
export const LiveGames = t.Object({
  games: t.Array(t.Object({ game_id: Str(), ticks: Int(), started_at: Time(), t: Num("the last tick's time"), price: Num(), fair: Num() })),
});
export const TicksAnswer = t.Object({ ticks: Int("ticks taken"), games: Int("games they touched"), signals: Int("signals emitted") });
export const SettleAnswer = t.Object({ game_id: Str(), ticks: Int(), signals: Int() });
export const Tick = t.Object({ game_id: Str(), t: Num(), price: Num(), fair: Num() }, { additionalProperties: true, description: "one tick (live.md)" });
export const Replay = t.Object({
  replay_id: Str(), status: Str("running, complete, cancelled or error"), games: t.Array(Str()), speed: Num(), ticks: Int(), total_ticks: Int(),
  settled: Int(), error: Nullable(Str()), created_by: Nullable(Str()),
});
export const ReplayCreate = t.Object({
  games: t.Optional(t.Array(Str(), { description: "stored game ids to replay" })), count: t.Optional(Int("or: how many stored games")),
  speed: t.Optional(Num("times real time")), prefix: t.Optional(Str("prefix of the live games' ids")),
});

export const MetricsHistory = t.Object({
  since: Time(), until: Time(), interval_ms: Int(), retention_ms: Int(), count: Int(), truncated: t.Boolean(),
  next_since: t.Optional(Time("ask again with since set to this")),
  rows: t.Array(t.Object({ at: Time() }, { additionalProperties: true, description: "one sample of the performance history" })),
});

/** A form post's fields, as a browser sends them. */
export const Form = (fields: Record<string, string>) =>
  t.Object(Object.fromEntries(Object.entries(fields).map(([name, description]) => [name, t.Optional(t.String({ description }))])), { additionalProperties: true });
