// Access: tokens, sessions, the identity of a request, and the events other parts listen to
// (a revoked or expired token closes its sockets). Wired in src/server/lifecycle.ts and handed to
// the HTTP guard (src/access/guard.ts), the token routes and the realtime binding.
//
// CONTRACT (shared by the engineers building access.md; implementations fill it in):
//   createAccess({ database, mode, clock?, logger }) -> Access
//   access.identify(request)   -> Identity | null   (null: nothing presented; DomainError
//                                  "unauthorized" for a malformed, unknown, revoked or expired one)
//   access.tokens               -> TokenStore (src/access/tokens.ts)
//   access.sessions             -> SessionStore (src/access/sessions.ts)
//   access.onRevoked(fn)        -> fn(tokenId) when a token is revoked or found expired (within 1 s)
//   access.start() / stop()     -> the 1 s expiry sweep (injected clock)
export type { Identity, Requirement, Role, Tier } from "./roles";
export { OPEN_IDENTITY, ROLES, TIERS, roleAtLeast, isRole, isTier } from "./roles";

/** The cookie a browser session travels in (HttpOnly, SameSite=Lax, Secure over https). */
export const SESSION_COOKIE = "gridcast_session";
/** The header (or `_csrf` form field) a cookie-authenticated change carries. */
export const CSRF_HEADER = "x-csrf-token";
export const CSRF_FIELD = "_csrf";

export { createAccess, cookieValue } from "./access";
export type { Access, AccessOptions, AuthMode, HeadersCarrier, LoginResult } from "./access";
export { TokenStore, generateToken, hashSecret, isWellFormedToken, TOKEN_NAME_MAX } from "./tokens";
export type { CreatedToken, TokenInfo } from "./tokens";
export { SessionStore } from "./sessions";
export type { CreatedSession, SessionInfo } from "./sessions";
export { ensureAdmin } from "./bootstrap";
