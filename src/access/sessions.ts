// Browser sessions (access.md "Presenting an identity"): a random cookie whose SHA-256 is the
// stored id, so the table alone cannot sign anybody in; each dies with its token and at its expiry.
import { randomBytes } from "node:crypto";
import { eq, inArray, lt } from "drizzle-orm";
import type { Database } from "../db/database";
import { sessions, tokens } from "../db/schema";
import { invalid } from "../errors";
import { hashSecret, isLive, sameHash, type TokenInfo } from "./tokens";

/** base64url (no padding) of 32 bytes. */
const COOKIE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const isWellFormedCookie = (v: unknown): v is string => typeof v === "string" && COOKIE_PATTERN.test(v);

export interface SessionInfo {
  /** SHA-256 hex of the cookie: safe to log or hold in an Identity. */
  id: string;
  tokenId: string;
  csrf: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface CreatedSession {
  /** The cookie's value, handed to the browser once. */
  cookie: string;
  csrf: string;
  expiresAt: Date;
}

export class SessionStore {
  constructor(private readonly database: () => Database) {}

  async create(tokenId: string, now: number, ttlMs: number): Promise<CreatedSession> {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw invalid("session lifetime must be positive");
    const cookie = randomBytes(32).toString("base64url");
    const csrf = randomBytes(32).toString("base64url");
    const expiresAt = new Date(now + ttlMs);
    await this.database().db.insert(sessions).values({ id: hashSecret(cookie), tokenId, csrf, createdAt: new Date(now), expiresAt });
    return { cookie, csrf, expiresAt };
  }

  /** The live session a cookie names and its token, or undefined; dead ones found here are deleted. */
  async get(cookie: unknown, now: number): Promise<{ session: SessionInfo; token: TokenInfo } | undefined> {
    if (!isWellFormedCookie(cookie)) return undefined;
    const id = hashSecret(cookie);
    const [row] = await this.database().db.select({
      session: { id: sessions.id, tokenId: sessions.tokenId, csrf: sessions.csrf, createdAt: sessions.createdAt, expiresAt: sessions.expiresAt },
      token: {
        id: tokens.id, name: tokens.name, role: tokens.role, tier: tokens.tier, createdAt: tokens.createdAt,
        expiresAt: tokens.expiresAt, lastUsedAt: tokens.lastUsedAt, revokedAt: tokens.revokedAt,
      },
    }).from(sessions).innerJoin(tokens, eq(tokens.id, sessions.tokenId)).where(eq(sessions.id, id)).limit(1);
    if (!row || !sameHash(row.session.id, id)) return undefined;
    if (row.session.expiresAt.getTime() <= now) {
      await this.endId(id);
      return undefined;
    }
    if (!isLive(row.token, now)) {
      await this.endForToken(row.token.id);
      return undefined;
    }
    return row;
  }

  /** Ends the session a cookie names; false when there was none. */
  async end(cookie: unknown): Promise<boolean> {
    if (!isWellFormedCookie(cookie)) return false;
    return this.endId(hashSecret(cookie));
  }

  /** Ends a session by its stored id (what an Identity carries as `sessionId`). */
  async endId(id: string): Promise<boolean> {
    const rows = await this.database().db.delete(sessions).where(eq(sessions.id, id)).returning({ id: sessions.id });
    return rows.length > 0;
  }

  /** Which of these stored ids still name a session (ended ones are deleted). */
  async existing(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.database().db.select({ id: sessions.id }).from(sessions).where(inArray(sessions.id, ids));
    return new Set(rows.map((r) => r.id));
  }

  /** Ends every session made from a token; how many there were. */
  async endForToken(tokenId: string): Promise<number> {
    const rows = await this.database().db.delete(sessions).where(eq(sessions.tokenId, tokenId)).returning({ id: sessions.id });
    return rows.length;
  }

  /** Deletes sessions expired by `now` (a browser that never came back leaves one behind). */
  async deleteExpired(now: number): Promise<number> {
    const rows = await this.database().db.delete(sessions).where(lt(sessions.expiresAt, new Date(now))).returning({ id: sessions.id });
    return rows.length;
  }
}
