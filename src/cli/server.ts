// What the commands that go through a running daemon share: the --server URL, checked once, and
// the token they present (--token, else GRIDCAST_TOKEN), sent as a bearer header.
import { ConfigError } from "../config/resolve";

/** `--server` as a base URL without a trailing slash; anything but http(s) is a bad argument. */
export function serverUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    return u.toString().replace(/\/$/, "");
  } catch {
    throw new ConfigError(`invalid --server ${JSON.stringify(raw)}: must be an http(s) URL such as http://127.0.0.1:3000`);
  }
}

/** The token a command presents to --server: --token, else GRIDCAST_TOKEN; undefined when neither. */
export function presentedToken(flags: Map<string, string>, env: Record<string, string | undefined> = process.env): string | undefined {
  return flags.get("--token") ?? (env.GRIDCAST_TOKEN || undefined);
}

/** The Authorization header for that token (none without one: a daemon with auth off needs none). */
export function authHeader(flags: Map<string, string>, env?: Record<string, string | undefined>): Record<string, string> {
  const token = presentedToken(flags, env);
  return token ? { authorization: `Bearer ${token}` } : {};
}
