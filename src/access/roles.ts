// Who may do what (access.md): the roles, each including the one before, the tiers, and the
// identity a request or a socket acts as. Plain values only: the store, the HTTP guard, the pages
// and the realtime registry all read these.

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const TIERS = ["starter", "pro"] as const;
export type Tier = (typeof TIERS)[number];

/** What a route or socket requires: nobody (`public`) or at least a role. */
export type Requirement = "public" | Role;

export const roleAtLeast = (role: Role, needed: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(needed);

export const isRole = (v: unknown): v is Role => typeof v === "string" && (ROLES as readonly string[]).includes(v);
export const isTier = (v: unknown): v is Tier => typeof v === "string" && (TIERS as readonly string[]).includes(v);

/**
 * The identity a request acts as. `open`: auth is off, every request is admin/pro (access.md
 * "Modes"). `token`: a bearer token. `session`: a browser session made from a token.
 */
export interface Identity {
  kind: "open" | "token" | "session";
  /** The token's id (null when open): what ownership and revocation compare. */
  tokenId: string | null;
  /** The token's name (null when open): what `created_by`, logs and status pages show. */
  name: string | null;
  role: Role;
  tier: Tier;
  /** Sessions only: the session id and the CSRF token its changes must carry. */
  sessionId?: string;
  csrf?: string;
}

export const OPEN_IDENTITY: Identity = Object.freeze({ kind: "open", tokenId: null, name: null, role: "admin", tier: "pro" }) as Identity;
