// The built-in wire formats of protocol.md. A format turns (topic, state, seq) into the exact text
// one kind of socket expects, or null when that kind of socket never carries the topic.
import { topicKind, type State } from "./topics";

export type Render = (topic: string, state: State, seq: number) => string | null;

/** The multiplexed `/ws` socket: every message names its topic. */
export const MUX_FORMAT = "ws";
/** The one-topic sockets of the source system: `/ws/grid-search/{id}`, `/ws/simulation/{id}`, `/ws/update/status`. */
export const LEGACY_FORMAT = "legacy";

export const renderMux: Render = (topic, state, seq) => {
  switch (topicKind(topic)) {
    case "job":
      return JSON.stringify({ type: "progress", topic, progress: state, seq });
    case "update":
      return JSON.stringify({ type: "status", topic, ...state, seq });
    case "metrics":
      return JSON.stringify({ type: "metrics_update", topic, metrics: state, seq });
    case "live":
      return JSON.stringify({ type: "live", topic, games: state.games, seq });
    case "live_game":
      return state.type === "settled"
        ? JSON.stringify({ type: "settled", topic, game_id: state.game_id, outcome: state.outcome, seq })
        : JSON.stringify({ type: "ticks", topic, game_id: state.game_id, ticks: state.ticks, seq });
    case "signals":
      return JSON.stringify({ type: "signal", topic, signal: state.signal, seq });
    default:
      return JSON.stringify({ type: "update", topic, data: state, seq });
  }
};

export const renderLegacy: Render = (topic, state, seq) => {
  switch (topicKind(topic)) {
    case "job":
      return JSON.stringify({ type: "progress", progress: state, seq });
    case "update":
      return JSON.stringify({ type: "status", ...state, seq });
    default:
      return null;
  }
};
