// Logical topics (`job:{id}`, `update`, `metrics`) and how they map onto Bun wire topics: one
// wire topic per (format, topic), so each format is rendered once and fanned out by Bun.

/** The latest state of a topic: a plain, JSON-serialisable object. */
export type State = Record<string, unknown>;

export type TopicKind = "job" | "update" | "metrics" | "live" | "live_game" | "signals" | "other";

export const UPDATE_TOPIC = "update";
export const METRICS_TOPIC = "metrics";
/** Every socket is subscribed to this one wire topic, so `server_shutdown` is one publish. */
export const SYSTEM_WIRE_TOPIC = "sys|broadcast";

// Statuses after which a job never changes again (protocol.md) are defined with the job states.
import { TERMINAL_STATES } from "../jobs/states";
import { isJobId } from "../jobs/ids";

const JOB_PREFIX = "job:";

/** live.md's topics: the live games (state), one game's ticks (events), signals (events). */
export const LIVE_TOPIC = "live";
export const SIGNALS_TOPIC = "signals";
export const LIVE_GAME_PREFIX = "live:";
export const STRATEGY_SIGNALS_PREFIX = "signals:";
export const liveGameTopic = (gameId: string): string => `${LIVE_GAME_PREFIX}${gameId}`;
export const strategySignalsTopic = (strategyId: number): string => `${STRATEGY_SIGNALS_PREFIX}${strategyId}`;

/** The topic of a job, and back: the one place the `job:` form is written or read. */
export const jobTopic = (requestId: string): string => `${JOB_PREFIX}${requestId}`;
export const jobIdOf = (topic: string): string | undefined => (topic.startsWith(JOB_PREFIX) ? topic.slice(JOB_PREFIX.length) : undefined);

export function topicKind(topic: string): TopicKind {
  if (topic.startsWith(JOB_PREFIX)) return "job";
  if (topic === UPDATE_TOPIC) return "update";
  if (topic === METRICS_TOPIC) return "metrics";
  if (topic === LIVE_TOPIC) return "live";
  if (topic.startsWith(LIVE_GAME_PREFIX)) return "live_game";
  if (topic === SIGNALS_TOPIC || topic.startsWith(STRATEGY_SIGNALS_PREFIX)) return "signals";
  return "other";
}

/**
 * `format|topic`, or `format@tier|topic` for a delayed tier's copy: format and tier names never
 * contain `|` or `@`, so the first `|` and the `@` before it split them again.
 */
export function wireTopic(format: string, topic: string, tier?: string): string {
  return tier === undefined ? `${format}|${topic}` : `${format}@${tier}|${topic}`;
}

export function splitWireTopic(wire: string): { format: string; topic: string; tier?: string } {
  const i = wire.indexOf("|");
  const head = wire.slice(0, i);
  const at = head.indexOf("@");
  const topic = wire.slice(i + 1);
  return at === -1 ? { format: head, topic } : { format: head.slice(0, at), topic, tier: head.slice(at + 1) };
}

export function isTerminalState(_topic: string, state: State): boolean {
  return typeof state.status === "string" && TERMINAL_STATES.has(state.status);
}

/** What a job socket shows before the job exists (protocol.md: zeros, connection stays open). */
export function notFoundProgress(): State {
  return { status: "not_found", current: 0, total: 0, current_combo: "" };
}

export function idleUpdateStatus(): State {
  return { is_running: false, message: "No update running" };
}

/**
 * `events`: the topic carries events (hub.emit), not states; a new subscriber gets the hub's
 * eventSnapshot. `epoch` and `seq`: a topic whose history lives in the store goes on from there.
 */
export type Resolution = { ok: true; initial?: State; events?: boolean; epoch?: string; seq?: number } | { ok: false; reason: string };

/**
 * Topics known without asking anyone: job topics of any well-formed id (not_found until the job
 * exists), `update` and `metrics`. The daemon wraps this to return a known job's real state and
 * to answer for the live topics (src/live/feed.ts knows which games and strategies exist).
 */
export function defaultResolveTopic(topic: string): Resolution {
  switch (topicKind(topic)) {
    case "job":
      return isJobId(jobIdOf(topic)) ? { ok: true, initial: notFoundProgress() } : { ok: false, reason: "malformed job id" };
    case "update":
      return { ok: true, initial: idleUpdateStatus() };
    case "metrics":
      return { ok: true };
    default:
      return { ok: false, reason: "unknown topic" };
  }
}
