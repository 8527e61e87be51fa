// SIGTERM/SIGINT: the first starts a graceful stop (exit 0 within 5 s); a second exits at once.
// SIGHUP: reload the settings file (src/server/reload.ts); the daemon keeps running whatever it holds.
import type { Logger } from "../log/logger";

/** How long a graceful stop may take before the daemon exits 1 on its own (the unit's TimeoutStopSec allows for it). */
export const STOP_DEADLINE_MS = 5000;

export function onStopSignals(logger: Logger, stop: () => Promise<void>, exit: (code: number) => void = process.exit): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn("second signal: exiting now", { signal });
      exit(1);
      return;
    }
    signalled = true;
    logger.info("stopping", { signal });
    const hardStop = setTimeout(() => {
      logger.error(`graceful stop took over ${STOP_DEADLINE_MS / 1000} s: exiting`);
      exit(1);
    }, STOP_DEADLINE_MS);
    stop().then(() => {
      clearTimeout(hardStop);
      logger.info("stopped");
      exit(0);
    });
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/** Each SIGHUP runs `reload`; one that throws is logged, never fatal (a reload must not stop a daemon). */
export function onReloadSignal(logger: Logger, reload: () => void): void {
  process.on("SIGHUP", () => {
    try {
      reload();
    } catch (err) {
      logger.error("settings reload failed: the running settings are kept", { error: err as Error });
    }
  });
}
