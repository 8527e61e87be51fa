// `gridcast import FILE` and `gridcast demo-data`: through a running daemon's API with --server,
// otherwise straight into the database (the same import code the API uses).
import { existsSync, statSync } from "node:fs";
import type { Config } from "../config/resolve";
import { ConfigError } from "../config/resolve";
import { openDatabase } from "../db/open";
import { demoCsv, DEMO_LIMITS } from "../games/demo";
import { importGames, type ImportResult } from "../games/import";
import { detectFormat, type GameFormat } from "../games/parse";
import { authHeader, serverUrl } from "./server";

export const IMPORT_FLAGS = ["--server", "--games", "--seed", "--token"];

const CONTENT_TYPE: Record<GameFormat, string> = { csv: "text/csv", ndjson: "application/x-ndjson" };

async function viaServer(url: string, init: RequestInit): Promise<ImportResult> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ConfigError(`--server ${url} does not answer: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as Partial<ImportResult> & { detail?: string };
  if (!res.ok) throw new CommandFailed(`${res.status}: ${body.detail ?? res.statusText}`);
  return body as ImportResult;
}

/** A command that ran and was refused (bad file, busy server): exit code 1. */
export class CommandFailed extends Error {}

async function direct(config: Config, stream: AsyncIterable<Uint8Array>, format: GameFormat, synthetic: boolean): Promise<ImportResult> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, minFreeDiskBytes: config.minFreeDiskBytes });
  try {
    return await importGames(database, stream, {
      format, synthetic,
      limits: { maxBytes: config.maxImportBytes, maxGames: config.maxImportGames, maxTicksPerGame: config.maxGameTicks },
    });
  } finally {
    await database.close();
  }
}

export async function importCommand(config: Config, positionals: string[], flags: Map<string, string>): Promise<string> {
  const [file, ...rest] = positionals;
  if (!file || rest.length) throw new ConfigError("usage: gridcast import FILE [--server URL [--token T]]");
  if (!existsSync(file) || !statSync(file).isFile()) throw new ConfigError(`no such file: ${file}`);
  const format = detectFormat(file, new Uint8Array(await Bun.file(file).slice(0, 4096).arrayBuffer()));
  if (!format) throw new CommandFailed(`${file}: neither CSV nor NDJSON`);
  const server = flags.get("--server");
  const result = server
    ? await viaServer(`${serverUrl(server)}/api/games/import`, { method: "POST", body: Bun.file(file), headers: { "content-type": CONTENT_TYPE[format], ...authHeader(flags) } })
    : await direct(config, Bun.file(file).stream() as unknown as AsyncIterable<Uint8Array>, format, false);
  return `imported ${result.games} games, ${result.ticks} ticks from ${file}`;
}

export async function demoCommand(config: Config, positionals: string[], flags: Map<string, string>): Promise<string> {
  if (positionals.length) throw new ConfigError("usage: gridcast demo-data [--games N] [--seed S] [--server URL [--token T]]");
  const games = Number(flags.get("--games") ?? 200);
  const seed = Number(flags.get("--seed") ?? 1);
  if (!Number.isInteger(games) || games < 1 || games > DEMO_LIMITS.maxGames) throw new ConfigError(`invalid --games: must be an integer from 1 to ${DEMO_LIMITS.maxGames}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new ConfigError("invalid --seed: must be an integer from 0 to 4294967295");
  const server = flags.get("--server");
  const result = server
    ? await viaServer(`${serverUrl(server)}/api/games/demo?games=${games}&seed=${seed}`, { method: "POST", headers: authHeader(flags) })
    : await direct(config, demoCsv({ games, seed }), "csv", true);
  return `wrote ${result.games} synthetic games, ${result.ticks} ticks (seed ${seed})`;
}
