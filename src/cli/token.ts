// `gridcast token create|list|revoke` (access.md "Managing tokens"): straight on the store (a
// PostgreSQL DATABASE_URL, daemons running or not, or a data dir no daemon holds), or through a
// running daemon's admin API with --server and an admin token (--token or GRIDCAST_TOKEN).
import { TokenStore, validateRole, validateTier, validateTokenName, type TokenInfo } from "../access/tokens";
import type { Config } from "../config/resolve";
import { ConfigError } from "../config/resolve";
import { duration, SettingValueError } from "../config/settings";
import { openDatabase } from "../db/open";
import { DomainError } from "../errors";
import { CommandFailed } from "./import";
import { presentedToken, serverUrl } from "./server";

export const TOKEN_FLAGS = ["--name", "--role", "--tier", "--expires", "--token"];

const USAGE = `usage: gridcast token create --name N --role viewer|operator|admin [--tier starter|pro] [--expires 30d]
       gridcast token list
       gridcast token revoke ID
  each takes --server URL --token T (or GRIDCAST_TOKEN) to go through a running daemon`;

const parseExpiry = duration(1000, 3650 * 86_400_000);

interface Remote {
  url: string;
  token: string;
}

function remoteOf(flags: Map<string, string>, env: Record<string, string | undefined>): Remote | undefined {
  const server = flags.get("--server");
  if (server === undefined) {
    if (flags.has("--token")) throw new ConfigError("--token is for --server: without it the command works on the store directly");
    return undefined;
  }
  const url = serverUrl(server);
  const token = presentedToken(flags, env);
  if (!token) throw new ConfigError("--server needs an admin token: --token T or GRIDCAST_TOKEN");
  return { url, token };
}

/** A value checked the way the store checks it, refused as a bad argument (exit 2). */
function arg<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof DomainError || err instanceof SettingValueError) throw new ConfigError(err.message);
    throw err;
  }
}

/** A request to the daemon's admin API; a refusal is exit 1 with its status and message (404 too, unless `notFoundOk`). */
async function call(remote: Remote, method: string, path: string, body?: unknown, notFoundOk = false): Promise<{ status: number; json: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(`${remote.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${remote.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "manual",
    });
  } catch (err) {
    throw new ConfigError(`--server ${remote.url} does not answer: ${(err as Error).message}`);
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok && !(notFoundOk && res.status === 404)) throw new CommandFailed(`${res.status}: ${typeof json.detail === "string" ? json.detail : res.statusText}`);
  return { status: res.status, json };
}

async function withStore<T>(config: Config, fn: (store: TokenStore) => Promise<T>): Promise<T> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, minFreeDiskBytes: config.minFreeDiskBytes });
  try {
    return await fn(new TokenStore(() => database));
  } finally {
    await database.close();
  }
}

const when = (d: Date | null): string => (d ? `${d.toISOString().slice(0, 16).replace("T", " ")}Z` : "-");

function stateOf(t: TokenInfo, now: number): string {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && t.expiresAt.getTime() <= now) return "expired";
  return "active";
}

/** The token table: never a secret (the store has none to give). */
export function tokenTable(list: TokenInfo[], now = Date.now()): string {
  if (list.length === 0) return "no tokens";
  const rows = [["ID", "NAME", "ROLE", "TIER", "STATE", "CREATED", "EXPIRES", "LAST USED"]];
  for (const t of list) rows.push([t.id, t.name, t.role, t.tier, stateOf(t, now), when(t.createdAt), when(t.expiresAt), when(t.lastUsedAt)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i]! - [...c].length))).join("  ")).join("\n");
}

const fromJson = (t: Record<string, unknown>): TokenInfo => {
  const date = (v: unknown) => (typeof v === "string" ? new Date(v) : null);
  return {
    id: String(t.id), name: String(t.name), role: t.role as TokenInfo["role"], tier: t.tier as TokenInfo["tier"],
    createdAt: date(t.created_at) ?? new Date(0), expiresAt: date(t.expires_at), lastUsedAt: date(t.last_used_at), revokedAt: date(t.revoked_at),
  };
};

export async function tokenCommand(
  config: Config, positionals: string[], flags: Map<string, string>, env: Record<string, string | undefined> = process.env,
): Promise<string> {
  const [sub, ...rest] = positionals;
  const remote = remoteOf(flags, env);
  const unexpected = (allowed: string[]) => {
    for (const f of ["--name", "--role", "--tier", "--expires"]) if (flags.has(f) && !allowed.includes(f)) throw new ConfigError(`token ${sub} takes no ${f}\n${USAGE}`);
  };
  switch (sub) {
    case "create": {
      if (rest.length) throw new ConfigError(USAGE);
      unexpected(["--name", "--role", "--tier", "--expires"]);
      if (!flags.has("--name") || !flags.has("--role")) throw new ConfigError(`token create needs --name and --role\n${USAGE}`);
      const name = arg(() => validateTokenName(flags.get("--name")));
      const role = arg(() => validateRole(flags.get("--role")));
      const tier = arg(() => validateTier(flags.get("--tier")));
      const expires = flags.get("--expires");
      const expiresInMs = expires === undefined ? undefined : arg(() => parseExpiry(expires));
      if (remote) {
        const { json } = await call(remote, "POST", "/api/tokens", { name, role, tier, ...(expires === undefined ? {} : { expires_in: expires }) });
        return `${json.id}\n${json.token}`;
      }
      const created = await withStore(config, (store) => store.create({ name, role, tier, expiresInMs }));
      return `${created.id}\n${created.token}`;
    }
    case "list": {
      if (rest.length) throw new ConfigError(USAGE);
      unexpected([]);
      if (remote) {
        const { json } = await call(remote, "GET", "/api/tokens");
        return tokenTable(((json.tokens ?? []) as Record<string, unknown>[]).map(fromJson));
      }
      return tokenTable(await withStore(config, (store) => store.list()));
    }
    case "revoke": {
      if (rest.length !== 1) throw new ConfigError(`token revoke takes one token id\n${USAGE}`);
      unexpected([]);
      const id = rest[0]!;
      const found = remote
        ? (await call(remote, "DELETE", `/api/tokens/${encodeURIComponent(id)}`, undefined, true)).status !== 404
        : await withStore(config, (store) => store.revoke(id));
      if (!found) throw new CommandFailed(`no such token ${JSON.stringify(id)}`);
      return `revoked ${id}`;
    }
    default:
      throw new ConfigError(USAGE);
  }
}
