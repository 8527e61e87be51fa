// `gridcast feed replay`: starts a replay of stored games on a running daemon (live.md "Ingest").
// Only through --server: a replay is paced over minutes and publishes to the daemon's sockets, so
// it runs inside the daemon, never as a second writer beside it.
import type { Config } from "../config/resolve";
import { ConfigError } from "../config/resolve";
import { REPLAY_LIMITS } from "../live/replay";
import { CommandFailed } from "./import";
import { authHeader, serverUrl } from "./server";

export const FEED_FLAGS = ["--count", "--ids", "--speed", "--prefix", "--server", "--token"];

const USAGE = "usage: gridcast feed replay [--count N | --ids a,b] [--speed X] [--prefix P] --server URL [--token T]";

const DECIMAL = /^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The replay request the flags describe; the daemon checks it again (and knows which games exist). */
export function replayBody(flags: Map<string, string>): Record<string, unknown> {
  const count = flags.get("--count"), ids = flags.get("--ids");
  if (count !== undefined && ids !== undefined) throw new ConfigError("give --count or --ids, not both");
  const body: Record<string, unknown> = {};
  if (ids !== undefined) {
    const list = ids.split(",").map((s) => s.trim()).filter(Boolean);
    if (list.length === 0) throw new ConfigError("invalid --ids: a comma-separated list of stored game ids");
    body.games = list;
  } else {
    const n = Number(count ?? 10);
    if (!/^\d+$/.test(count ?? "10") || n < 1 || n > REPLAY_LIMITS.maxGames) throw new ConfigError(`invalid --count: must be an integer from 1 to ${REPLAY_LIMITS.maxGames}`);
    body.count = n;
  }
  const speed = flags.get("--speed");
  if (speed !== undefined) {
    const x = Number(speed);
    if (!DECIMAL.test(speed) || x < REPLAY_LIMITS.minSpeed || x > REPLAY_LIMITS.maxSpeed) {
      throw new ConfigError(`invalid --speed: must be a number from ${REPLAY_LIMITS.minSpeed} to ${REPLAY_LIMITS.maxSpeed}`);
    }
    body.speed = x;
  }
  const prefix = flags.get("--prefix");
  if (prefix !== undefined) body.prefix = prefix;
  return body;
}

export async function feedCommand(_config: Config, positionals: string[], flags: Map<string, string>): Promise<string> {
  const [sub, ...rest] = positionals;
  if (sub !== "replay" || rest.length) throw new ConfigError(USAGE);
  const body = replayBody(flags);
  const server = flags.get("--server");
  if (server === undefined) throw new ConfigError("feed replay needs --server URL: a replay runs inside a running daemon (start one with gridcast serve)");
  const url = `${serverUrl(server)}/api/live/replay`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST", redirect: "manual", body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...authHeader(flags) },
    });
  } catch (err) {
    throw new ConfigError(`--server ${server} does not answer: ${(err as Error).message}`);
  }
  const json = (await res.json().catch(() => ({}))) as { detail?: string; replay_id?: string; games?: string[] };
  if (!res.ok) throw new CommandFailed(`${res.status}: ${json.detail ?? res.statusText}`);
  const games = json.games ?? [];
  return `replay ${json.replay_id} started: ${games.length} games (${games.slice(0, 5).join(", ")}${games.length > 5 ? ", ..." : ""}); cancel with POST /api/live/replay/${json.replay_id}/cancel`;
}
