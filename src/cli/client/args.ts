// The terminal client's arguments: which flags each command takes, and the request bodies they
// make (protocol.md "Job progress" parameter names). Only the form is checked here (a range is
// start:stop:step of numbers, a games list names something); the daemon judges the values.
import { ConfigError } from "../../config/resolve";

export const CLIENT_COMMANDS = ["grid-search", "simulate", "watch", "jobs"] as const;
export type ClientCommand = (typeof CLIENT_COMMANDS)[number];
export const isClientCommand = (c: string | undefined): c is ClientCommand => CLIENT_COMMANDS.includes(c as ClientCommand);

/** Flags with a value, and the value-less ones, that the client commands add to the parser. */
export const CLIENT_FLAGS = ["--entry", "--exit", "--fee", "--games", "--server", "--token", "--limit"];
export const CLIENT_BOOLEANS = ["--json"];

const COMMON = ["--server", "--token", "--json"];
const ALLOWED: Record<ClientCommand, string[]> = {
  "grid-search": [...COMMON, "--entry", "--exit", "--fee", "--games"],
  simulate: [...COMMON, "--entry", "--exit", "--fee", "--games"],
  watch: COMMON,
  jobs: [...COMMON, "--limit"],
};

export const USAGE: Record<ClientCommand, string> = {
  "grid-search": "usage: gridcast grid-search --entry START:STOP:STEP --exit START:STOP:STEP [--fee F] [--games a,b,...] --server URL [--token T] [--json]",
  simulate: "usage: gridcast simulate --entry E --exit X [--fee F] [--games a,b,...] --server URL [--token T] [--json]",
  watch: "usage: gridcast watch ID --server URL [--token T] [--json]",
  jobs: "usage: gridcast jobs [--limit N] --server URL [--token T] [--json]",
};

// Decimal or exponent notation, as the daemon reads numbers; "0x10", "" and "1e" are malformed.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function numberArg(flag: string, raw: string): number {
  const s = raw.trim();
  const n = Number(s);
  if (!NUMBER.test(s) || !Number.isFinite(n)) throw new ConfigError(`invalid ${flag} ${JSON.stringify(raw)}: must be a number`);
  return n;
}

/** `start:stop:step`, three numbers (0.01:0.2:0.01); the daemon checks their ranges. */
export function parseRange(flag: string, raw: string): { start: number; stop: number; step: number } {
  const parts = raw.split(":");
  const form = "START:STOP:STEP, three numbers such as 0.01:0.2:0.01";
  const values = parts.length !== 3 ? [NaN] : parts.map((p) => (NUMBER.test(p.trim()) ? Number(p.trim()) : NaN));
  if (!values.every(Number.isFinite)) throw new ConfigError(`invalid ${flag} ${JSON.stringify(raw)}: must be ${form}`);
  const [start, stop, step] = values as [number, number, number];
  return { start, stop, step };
}

function gamesArg(raw: string): string[] {
  const list = raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new ConfigError("invalid --games: a comma-separated list of stored game ids (leave it out for all games)");
  return list;
}

function required(flags: Map<string, string>, flag: string, command: ClientCommand): string {
  const v = flags.get(flag);
  if (v === undefined) throw new ConfigError(`${command} needs ${flag}\n${USAGE[command]}`);
  return v;
}

/** Refuses positionals and flags the command does not take, and a missing --server. */
export function checkArgs(command: ClientCommand, positionals: string[], flags: Map<string, string>): void {
  const wanted = command === "watch" ? 1 : 0;
  if (positionals.length !== wanted) {
    const got = positionals.length ? positionals.map((p) => JSON.stringify(p)).join(" ") : "none";
    throw new ConfigError(`${command} takes ${wanted ? "one job id" : "no arguments"} (got ${got})\n${USAGE[command]}`);
  }
  for (const flag of flags.keys()) {
    if (!ALLOWED[command].includes(flag)) throw new ConfigError(`${command} takes no ${flag}\n${USAGE[command]}`);
  }
  if (!flags.has("--server")) throw new ConfigError(`${command} needs --server URL: it works through a running daemon (start one with gridcast serve)\n${USAGE[command]}`);
}

function common(flags: Map<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const fee = flags.get("--fee");
  if (fee !== undefined) body.fee = numberArg("--fee", fee);
  const games = flags.get("--games");
  if (games !== undefined) body.games = gamesArg(games);
  return body;
}

/** The POST /api/grid-search/run body the flags describe. */
export function gridRequest(flags: Map<string, string>): Record<string, unknown> {
  const entry = parseRange("--entry", required(flags, "--entry", "grid-search"));
  const exit = parseRange("--exit", required(flags, "--exit", "grid-search"));
  return {
    entry_start: entry.start, entry_stop: entry.stop, entry_step: entry.step,
    exit_start: exit.start, exit_stop: exit.stop, exit_step: exit.step,
    ...common(flags),
  };
}

/** The POST /api/simulation/run body the flags describe. */
export function simulationRequest(flags: Map<string, string>): Record<string, unknown> {
  return {
    entry: numberArg("--entry", required(flags, "--entry", "simulate")),
    exit: numberArg("--exit", required(flags, "--exit", "simulate")),
    ...common(flags),
  };
}

/** `jobs --limit N`: an integer (the daemon says how many it serves at most). */
export function limitArg(flags: Map<string, string>): number | undefined {
  const raw = flags.get("--limit");
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`invalid --limit ${JSON.stringify(raw)}: must be a whole number`);
  return Number(raw.trim());
}
