// The built-in wire formats of protocol.md. A format turns (topic, state, seq) into the exact text
// one kind of socket expects, or null when that kind of socket never carries the topic.
import { topicKind, type State } from "./topics";

/** `epoch` names the topic's history (protocol.md): the `/ws` format carries it; others need not. */
export type Render = (topic: string, state: State, seq: number, epoch: string) => string | null;

/** The multiplexed `/ws` socket: every message names its topic. */
export const MUX_FORMAT = "ws";
/** The one-topic sockets of the source system: `/ws/grid-search/{id}`, `/ws/simulation/{id}`, `/ws/update/status`. */
export const LEGACY_FORMAT = "legacy";

export const renderMux: Render = (topic, state, seq, epoch) => {
  switch (topicKind(topic)) {
    case "job":
      return JSON.stringify({ type: "progress", topic, progress: state, seq, epoch });
    case "update":
      return JSON.stringify({ type: "status", topic, ...state, seq, epoch });
    case "metrics":
      return JSON.stringify({ type: "metrics_update", topic, metrics: state, seq, epoch });
    case "live":
      return JSON.stringify({ type: "live", topic, games: state.games, seq, epoch });
    case "live_game":
      return state.type === "settled"
        ? JSON.stringify({ type: "settled", topic, game_id: state.game_id, outcome: state.outcome, seq, epoch })
        : JSON.stringify({ type: "ticks", topic, game_id: state.game_id, ticks: state.ticks, seq, epoch });
    case "signals":
      return JSON.stringify({ type: "signal", topic, signal: state.signal, seq, epoch });
    default:
      return JSON.stringify({ type: "update", topic, data: state, seq, epoch });
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
