// The gridcast command line: resolves config once, then runs one command.
import pkg from "../package.json" with { type: "json" };
import { ConfigError, loadConfig, parseArgs, prepareDataDir } from "./config/resolve";
import { LiveConfig } from "./config/live";
import { helpText } from "./cli/help";
import { CommandFailed, demoCommand, IMPORT_FLAGS, importCommand } from "./cli/import";
import { TOKEN_FLAGS, tokenCommand } from "./cli/token";
import { FEED_FLAGS, feedCommand } from "./cli/feed";
import { INSTALL_BOOLEANS, INSTALL_FLAGS, installCommand } from "./cli/install";
import { CLIENT_BOOLEANS, CLIENT_FLAGS, isClientCommand, runClient } from "./cli/client";
import { DataDirInUse } from "./db/lock";
import { DatabaseUnavailable } from "./db/database";
import { createLogger } from "./log/logger";
import { StartupError, startServer, type RunningServer } from "./server/lifecycle";
import { reloadSettings } from "./server/reload";
import { onReloadSignal, onStopSignals } from "./server/signals";

const VERSION = pkg.version;

function fail(message: string): never {
  process.stderr.write(`gridcast: ${message}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseArgs(argv, [...IMPORT_FLAGS, ...TOKEN_FLAGS, ...FEED_FLAGS, ...INSTALL_FLAGS, ...CLIENT_FLAGS], [...CLIENT_BOOLEANS, ...INSTALL_BOOLEANS]);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  if (args.flags.has("--version") || args.flags.has("-v")) {
    process.stdout.write(`gridcast ${VERSION}\n`);
    return;
  }
  const command = args.command ?? "serve";
  if (args.flags.has("--help") || args.flags.has("-h") || command === "help") {
    process.stdout.write(helpText(VERSION));
    return;
  }
  // The terminal client only talks to a daemon: no settings to resolve, no data dir to prepare.
  if (isClientCommand(command)) await runClient(command, args);
  // install/uninstall write a service for a target machine: nothing of this one to resolve or prepare.
  if (command === "install" || command === "uninstall") {
    try {
      installCommand(command, args, VERSION);
    } catch (err) {
      if (err instanceof ConfigError) fail(err.message);
      if (err instanceof CommandFailed) {
        process.stderr.write(`gridcast: ${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
    return;
  }
  let config;
  try {
    config = loadConfig(args, process.env);
    prepareDataDir(config);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  // The settings in force; the logger reads its level and format there, so a reload changes them.
  const liveConfig = new LiveConfig(config);
  const logger = createLogger({ get format() { return liveConfig.current.logFormat; }, get level() { return liveConfig.current.logLevel; } });
  switch (command) {
    case "serve": {
      if (args.positionals.length) fail(`serve takes no arguments (got ${JSON.stringify(args.positionals[0])})`);
      // Handlers first: a signal that arrives while the server starts must still stop it cleanly.
      let server: RunningServer | undefined;
      onStopSignals(logger, async () => server?.stop());
      // SIGHUP (systemctl reload): the same arguments, environment and settings file, resolved again.
      onReloadSignal(logger, () => void reloadSettings({ load: () => loadConfig(args, process.env), liveConfig, logger }));
      try {
        server = await startServer({ config, liveConfig, logger, version: VERSION });
      } catch (err) {
        if (err instanceof StartupError) fail(err.message);
        throw err;
      }
      try {
        await server.ready;
      } catch (err) {
        await server.stop(1000);
        if (err instanceof StartupError) fail(err.message);
        logger.error("could not open the database", { error: err as Error });
        process.exit(1);
      }
      return;
    }
    case "import":
    case "demo-data":
    case "token":
    case "feed": {
      try {
        const run = command === "import" ? importCommand : command === "token" ? tokenCommand : command === "feed" ? feedCommand : demoCommand;
        process.stdout.write(`${await run(config, args.positionals, args.flags)}\n`);
      } catch (err) {
        if (err instanceof ConfigError || err instanceof DataDirInUse || err instanceof DatabaseUnavailable) fail(err.message);
        if (err instanceof CommandFailed || (err as { line?: number }).line !== undefined) {
          process.stderr.write(`gridcast: ${(err as Error).message}\n`);
          process.exit(1);
        }
        throw err;
      }
      return;
    }
    default:
      fail(`unknown command ${JSON.stringify(command)} (see gridcast --help)`);
  }
}

await main(process.argv.slice(2));
