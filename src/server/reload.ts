// A reload (SIGHUP, `systemctl reload gridcast`): the settings resolved again from the same command
// line, environment and settings file, the live ones put in force, the others named once as waiting
// for a restart. A file that does not resolve changes nothing: the error is logged, the daemon runs on.
import type { LiveConfig } from "../config/live";
import { ConfigError, type Config } from "../config/resolve";
import { SETTINGS, type SettingKey } from "../config/settings";
import type { Logger } from "../log/logger";

export interface ReloadDeps {
  /** Resolves the settings as at start (loadConfig over the same arguments and environment). */
  load: () => Config;
  liveConfig: LiveConfig;
  logger: Logger;
}

export type ReloadOutcome =
  | { ok: true; applied: SettingKey[]; needRestart: SettingKey[] }
  | { ok: false; error: string };

const named = (keys: SettingKey[]) => keys.map((k) => SETTINGS[k].env);

export function reloadSettings(deps: ReloadDeps): ReloadOutcome {
  const { logger, liveConfig } = deps;
  const file = liveConfig.current.settingsFile;
  let next: Config;
  try {
    next = deps.load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    logger.error("settings reload failed: the running settings are kept", { file, error: err.message });
    return { ok: false, error: err.message };
  }
  const { applied, needRestart } = liveConfig.apply(next);
  // Logged after applying, so this line is already in a new --log-format or --log-level.
  logger.info("settings reloaded", { file, applied: named(applied) });
  if (needRestart.length) {
    logger.warn("settings changed that take effect only after a restart", { file, settings: named(needRestart) });
  }
  return { ok: true, applied, needRestart };
}
