// Starts the daemon (listen first, then open the database so /health answers 503 meanwhile)
// and stops it in order: stop accepting, let requests finish, close sockets, close the database.
import type { Config } from "../config/resolve";
import { DatabaseUnavailable, type Database } from "../db/database";
import { DataDirInUse } from "../db/lock";
import { openDatabase } from "../db/open";
import { createApp, type App } from "../http/app";
import type { Logger } from "../log/logger";
import { DatabaseSlot } from "./database-slot";
import type { HealthSources } from "./health";

export interface RunningServer {
  app: App;
  url: string;
  port: number;
  database: DatabaseSlot;
  /** Resolves once the database is open and migrated (rejects with a StartupError). */
  ready: Promise<void>;
  /** Graceful stop, bounded by `deadlineMs`; never rejects. */
  stop(deadlineMs?: number): Promise<void>;
}

/** A failure at start that is the user's setting, not a bug: exit code 2 with one line. */
export class StartupError extends Error {}

export interface ServeDeps {
  config: Config;
  logger: Logger;
  version: string;
  /** Injected in tests to hold the database back or swap the driver. */
  openDatabase?: (config: Config) => Promise<Database>;
}

export async function startServer(deps: ServeDeps): Promise<RunningServer> {
  const { config, logger } = deps;
  const slot = new DatabaseSlot(config.databaseUrl ? "postgres" : "pglite");
  const health: HealthSources = {
    database: () => slot.snapshot(),
    workers: () => ({ healthy: true, size: config.workers, busy: 0 }),
    websocket: () => ({ activeConnections: 0, totalConnectionsTracked: 0 }),
  };
  const app = createApp({ version: deps.version, logger, health });
  app.listen({ hostname: config.host, port: config.port });
  const server = app.server!;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;
  logger.info("listening", { url, database: slot.kind });

  const open = deps.openDatabase ?? ((c: Config) => openDatabase({ databaseUrl: c.databaseUrl, dataDir: c.dataDir }));
  const started = performance.now();
  const ready = open(config).then(
    (database) => {
      slot.opened(database);
      logger.info("database open", { kind: slot.kind, ms: Math.round(performance.now() - started) });
    },
    (err: Error) => {
      slot.failed(err.message);
      if (err instanceof DatabaseUnavailable || err instanceof DataDirInUse) throw new StartupError(err.message);
      throw err;
    },
  );

  let stopping: Promise<void> | undefined;
  const stop = (deadlineMs = 4500) => {
    stopping ??= (async () => {
      const force = setTimeout(() => {
        logger.warn("shutdown deadline reached: closing open connections");
        void server.stop(true);
      }, deadlineMs);
      try {
        await server.stop(false); // stop accepting; in-flight requests finish
        await ready.catch(() => {});
        await slot.close();
      } catch (err) {
        logger.error("error during shutdown", { error: err as Error });
      } finally {
        clearTimeout(force);
      }
    })();
    return stopping;
  };

  return { app, url, port: server.port!, database: slot, ready, stop };
}
