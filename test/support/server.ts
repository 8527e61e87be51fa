// Starts the real server in-process on port 0 with a given database (or a held-back one), and
// helpers for raw HTTP requests whose paths must reach the server unnormalised.
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, resolveConfig, type Config } from "../../src/config/resolve";
import type { Role, Tier } from "../../src/access/roles";
import type { Database } from "../../src/db/database";
import type { Clock } from "../../src/realtime/transport";
import { createLogger, silentLogger, type Logger } from "../../src/log/logger";
import { startServer, type RunningServer } from "../../src/server/lifecycle";

/** A config on port 0 with a data dir of its own (its inbox is per test). */
export function testConfig(flags: string[] = [], env: Record<string, string> = {}): Config {
  const dataDir = mkdtempSync(join(tmpdir(), "gridcast-test-"));
  return resolveConfig(parseArgs(["serve", "--port", "0", "--data-dir", dataDir, ...flags]), env);
}

export async function startTestServer(options: {
  database: Database | (() => Promise<Database>);
  flags?: string[];
  logger?: Logger;
  /** Wait for the database to open before resolving (default true). */
  waitReady?: boolean;
  /** Settings set after resolving (e.g. `{ auth: "on" }` for a loopback server that checks identities). */
  config?: Record<string, unknown>;
  /** Time for access and the rate limits (a FakeClock from test/realtime/fakes.ts). */
  clock?: Clock;
  /** Receives the first start's `admin login: ...` line (default: dropped). */
  print?: (line: string) => void;
}): Promise<RunningServer> {
  // The test's fixture owns the database and closes it; the server must not.
  const borrow = (d: Database): Database => ({ ...d, close: async () => {} });
  const db = options.database;
  // Tests send many imports and jobs a minute; the rate limits' own tests set theirs (later flags win).
  const generous = ["--rate-login-per-min", "100000", "--rate-jobs-per-min", "100000", "--rate-imports-per-min", "100000"];
  const config = Object.assign(testConfig([...generous, ...(options.flags ?? [])]), options.config ?? {});
  const server = await startServer({
    config,
    logger: options.logger ?? silentLogger,
    version: "test",
    clock: options.clock,
    print: options.print ?? (() => {}),
    openDatabase: typeof db === "function" ? async () => borrow(await db()) : async () => borrow(db),
  });
  if (options.waitReady !== false) await server.ready;
  return server;
}

/** A server with --auth on (on loopback, where it is off by default), and the rest as given. */
export function startAuthServer(options: Parameters<typeof startTestServer>[0]): Promise<RunningServer> {
  return startTestServer({ ...options, config: { auth: "on", ...options.config } });
}

/** A token made through the store; `bearer` is the Authorization header's value. */
export async function makeToken(server: RunningServer, role: Role, options: { name?: string; tier?: Tier; expiresAt?: Date } = {}) {
  const created = await server.access.tokens.create({ name: options.name ?? `test-${role}`, role, tier: options.tier ?? "starter", expiresAt: options.expiresAt });
  return { ...created, bearer: `Bearer ${created.token}` };
}

/** A browser session for a new token of `role`: the Cookie header's value and the CSRF token its changes carry. */
export async function makeSession(server: RunningServer, role: Role, options: { name?: string; tier?: Tier } = {}) {
  const { token, id } = await makeToken(server, role, options);
  const session = await server.access.login(token);
  return { tokenId: id, token, cookie: `gridcast_session=${session.cookie}`, csrf: session.csrf };
}

export async function stopTestServer(server: RunningServer): Promise<void> {
  await server.stop(2000);
}

/**
 * Sends one HTTP/1.1 request with the path (and any Host) exactly as given; resolves to status and
 * body. `headers` replace the defaults by name (host: 127.0.0.1).
 */
export function rawRequest(port: number, path: string, method = "GET", headers: Record<string, string> = {}): Promise<{ status: number; body: string; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const lines = Object.entries({ host: "127.0.0.1", ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    socket.on("connect", () => socket.write(`${method} ${path} HTTP/1.1\r\n${lines}Connection: close\r\n\r\n`));
    socket.on("data", (chunk) => (data += chunk.toString("latin1")));
    socket.on("end", () => resolve({ status: Number(data.slice(9, 12)), body: data.slice(data.indexOf("\r\n\r\n") + 4), head: data.slice(0, data.indexOf("\r\n\r\n")).toLowerCase() }));
    socket.on("error", reject);
  });
}

/** A logger that keeps its lines, for tests that assert what was logged. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger({ format: "json", level: "debug", write: (l) => lines.push(l) }), { lines });
}

/** Sends a WebSocket upgrade request and resolves to the status of the answer (101 when it upgraded), then hangs up. */
export function upgradeStatus(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const extra = Object.entries({ host: `127.0.0.1:${port}`, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    socket.on("connect", () => socket.write(
      `GET ${path} HTTP/1.1\r\n${extra}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      if (data.includes("\r\n")) {
        resolve(Number(data.slice(9, 12)));
        socket.destroy();
      }
    });
    socket.on("end", () => resolve(Number(data.slice(9, 12)) || 0));
    socket.on("error", reject);
  });
}
