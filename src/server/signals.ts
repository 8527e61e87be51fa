// SIGTERM/SIGINT: the first starts a graceful stop (exit 0 within 5 s); a second exits at once.
import type { Logger } from "../log/logger";

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
      logger.error("graceful stop took over 5 s: exiting");
      exit(1);
    }, 5000);
    stop().then(() => {
      clearTimeout(hardStop);
      logger.info("stopped");
      exit(0);
    });
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}
