// Signing in and out from a browser (access.md "Presenting an identity"): GET /login shows the
// token form, POST /login checks the token and opens a server-side session in the
// gridcast_session cookie, POST /logout ends it. Public routes (the guard's table says so); the
// guard still applies the cross-site rule and the login rate limit before these handlers run.
import { Elysia } from "elysia";
import { t } from "elysia";
import { doc, html, redirectTo } from "../openapi";
import { Form } from "./schemas";
import { SESSION_COOKIE, type Access } from "../../access/index";
import { DomainError } from "../../errors";
import { loginPage } from "../../../views/pages/login";
import { FORM_BYTES, readText } from "../body";
import { identityOf } from "../request-identity";
import { htmlResponse } from "../respond";

export interface LoginRoutesDeps {
  version: string;
  access: Pick<Access, "mode" | "login" | "logout" | "sessionTtlMs">;
  /** Lifetime of a session (--session-ttl): the cookie's Max-Age, matching the session's expiry. */
  sessionTtlMs?: number;
  /** Most time the form's body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs?: number;
}

/** What a typed-in token was refused with: one message for unknown, revoked and expired alike. */
export const BAD_TOKEN = "That token was not accepted: it is unknown, revoked or expired.";

/**
 * Where a sign-in may send the browser: a path on this server only. Anything that could leave
 * the origin (`//evil`, `/\evil`, `https:...`, `javascript:`) or carries control characters
 * falls back to `/`. Resolved against a placeholder origin, the URL must stay on it.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.length > 2000) return "/";
  if (/[\\\u0000-\u001f\u007f]/.test(next) || next.startsWith("//")) return "/";
  try {
    const base = "http://gridcast.invalid";
    const url = new URL(next, base);
    if (url.origin !== base) return "/";
    const path = url.pathname + url.search + url.hash;
    return path.startsWith("//") ? "/" : path;
  } catch {
    return "/";
  }
}

/**
 * Secure when the browser reached us over https: the request's own scheme, or a proxy's
 * `X-Forwarded-Proto: https`. Trusting the header is safe in this one direction: a forged one
 * only makes the cookie stricter (a browser on plain http then does not send it back).
 */
function overHttps(request: Request): boolean {
  if (new URL(request.url).protocol === "https:") return true;
  return (request.headers.get("x-forwarded-proto") ?? "").split(",")[0]!.trim().toLowerCase() === "https";
}

function sessionCookie(value: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}${secure ? "; Secure" : ""}`;
}

/** The pages hold a CSRF token or a sign-in form: never kept by a cache. */
const NO_STORE = { "cache-control": "no-store" };

export function loginRoutes(deps: LoginRoutesDeps) {
  const ttlMs = deps.sessionTtlMs ?? deps.access.sessionTtlMs;
  const timeoutMs = deps.bodyTimeoutMs ?? 30_000;
  const seeOther = (location: string, headers: Record<string, string> = {}) =>
    new Response(null, { status: 303, headers: { location, ...NO_STORE, ...headers } });

  return new Elysia({ name: "login-pages" })
    .get("/login", ({ request, query }) =>
      htmlResponse(loginPage(deps.version, { next: safeNext(query.next), identity: identityOf(request) }), 200, NO_STORE), { detail: doc({
      summary: "The sign-in page", tag: "pages", query: { next: t.String({ description: "a path on this server to go to afterwards" }) }, responses: { 200: html("the sign-in form") },
    }) })
    .post("/login", async ({ request }) => {
      const form = new URLSearchParams(await readText(request, { maxBytes: FORM_BYTES, timeoutMs }));
      const next = safeNext(form.get("next"));
      // Auth off: every request is admin already; there is nothing to sign in to.
      if (deps.access.mode === "off") return seeOther(next);
      let session;
      try {
        session = await deps.access.login((form.get("token") ?? "").trim());
      } catch (err) {
        if (!(err instanceof DomainError) || err.code !== "unauthorized") throw err;
        return htmlResponse(loginPage(deps.version, { next, error: BAD_TOKEN, identity: null }), 401, NO_STORE);
      }
      // A session this browser held before ends with the new one's start.
      await deps.access.logout(request).catch(() => false);
      const maxAgeS = Math.max(1, Math.floor(ttlMs / 1000));
      return seeOther(next, { "set-cookie": sessionCookie(session.cookie, maxAgeS, overHttps(request)) });
    }, { parse: "none", detail: doc({
      summary: "Sign in with a token: opens a session (the gridcast_session cookie)", tag: "pages",
      body: { "application/x-www-form-urlencoded": Form({ token: "an access token", next: "where to go afterwards" }) },
      responses: { 303: redirectTo("signed in: to `next`, with the session cookie"), 401: html("the token was not accepted (the form again)") },
    }) })
    .post("/logout", async ({ request }) => {
      await deps.access.logout(request);
      return seeOther("/login", { "set-cookie": sessionCookie("", 0, overHttps(request)) });
    }, { detail: doc({ summary: "Sign out: ends the session", tag: "pages", responses: { 303: redirectTo("to /login, the cookie cleared") } }) });
}
