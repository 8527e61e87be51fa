// First start (access.md "Modes"): with auth on and no admin token stored, create one and hand
// back the one line that lets its owner in. The secret travels in the URL's fragment, which a
// browser never sends, so it reaches neither the server's logs nor a proxy's.
import type { Access } from "./access";

export const BOOTSTRAP_ADMIN_NAME = "admin";

/**
 * Creates the first admin token when auth is on and no live admin exists, returning
 * `admin login: <loginUrl>#token=gct_...` to print once on stdout (never to the log); null otherwise.
 * `loginUrl` is the daemon's `http://HOST:PORT/login`.
 */
export async function ensureAdmin(access: Access, loginUrl: string): Promise<string | null> {
  if (access.mode !== "on") return null;
  if (await access.tokens.hasAdmin()) return null;
  const created = await access.tokens.create({ name: BOOTSTRAP_ADMIN_NAME, role: "admin", tier: "pro" });
  return `admin login: ${loginUrl}#token=${created.token}`;
}
