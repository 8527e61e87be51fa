// The running daemon's settings: fixed at start, except those marked `live` in the settings table,
// which a reload replaces. Whatever reads a live setting reads it here when it uses it (a getter in
// src/server/lifecycle.ts), so a reload reaches it without a second path for each setting.
import type { Config } from "./resolve";
import { SETTINGS, type SettingKey } from "./settings";

export const LIVE_KEYS: readonly SettingKey[] = (Object.keys(SETTINGS) as SettingKey[]).filter((k) => SETTINGS[k].live === true);

export interface Applied {
  /** Live settings whose value changed: in effect now. */
  applied: SettingKey[];
  /** Settings whose new value differs but that only a restart takes: still the old value. */
  needRestart: SettingKey[];
}

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

export class LiveConfig {
  #current: Config;

  constructor(initial: Config) {
    this.#current = initial;
  }

  /** The settings in force; a new object after each reload that changed one, never mutated. */
  get current(): Readonly<Config> {
    return this.#current;
  }

  /** Takes `next`'s live settings and leaves the rest as they were started with. */
  apply(next: Config): Applied {
    const keys = Object.keys(SETTINGS) as SettingKey[];
    const changed = keys.filter((k) => !same(this.#current[k as keyof Config], next[k as keyof Config]));
    const applied = changed.filter((k) => LIVE_KEYS.includes(k));
    const needRestart = changed.filter((k) => !LIVE_KEYS.includes(k));
    if (applied.length) {
      const taken = Object.fromEntries(applied.map((k) => [k, next[k as keyof Config]]));
      this.#current = { ...this.#current, ...taken };
    }
    return { applied, needRestart };
  }
}

/**
 * `build(input())`, built again only when `input()` returns another object: for what a reader
 * derives from a live list (a set of host names, normalised origins) without redoing it per request.
 */
export function rebuiltOnChange<I, O>(input: () => I, build: (i: I) => O): () => O {
  let last: { input: I; output: O } | undefined;
  return () => {
    const i = input();
    if (last?.input !== i) last = { input: i, output: build(i) };
    return last.output;
  };
}
