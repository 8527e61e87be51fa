// Starts the real server in-process on port 0 with a given database (or a held-back one), and
// helpers for raw HTTP requests whose paths must reach the server unnormalised.
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, resolveConfig, type Config } from "../../src/config/resolve";
import type { Database } from "../../src/db/database";
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
}): Promise<RunningServer> {
  // The test's fixture owns the database and closes it; the server must not.
  const borrow = (d: Database): Database => ({ ...d, close: async () => {} });
  const db = options.database;
  const config = testConfig(options.flags);
  const server = await startServer({
    config,
    logger: options.logger ?? silentLogger,
    version: "test",
    openDatabase: typeof db === "function" ? async () => borrow(await db()) : async () => borrow(db),
  });
  if (options.waitReady !== false) await server.ready;
  return server;
}

export async function stopTestServer(server: RunningServer): Promise<void> {
  await server.stop(2000);
}

/** Sends one HTTP/1.1 request with the path exactly as given; resolves to status and body. */
export function rawRequest(port: number, path: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.on("connect", () => socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    socket.on("data", (chunk) => (data += chunk.toString("latin1")));
    socket.on("end", () => resolve({ status: Number(data.slice(9, 12)), body: data.slice(data.indexOf("\r\n\r\n") + 4) }));
    socket.on("error", reject);
  });
}

/** A logger that keeps its lines, for tests that assert what was logged. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger({ format: "json", level: "debug", write: (l) => lines.push(l) }), { lines });
}
