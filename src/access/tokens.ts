// Tokens (access.md "Identities"): random secrets shown once, of which the store keeps only the
// SHA-256. A random 256-bit secret needs no slow hash: nobody can guess one to test against it.
import crypto from "node:crypto";
import { and, asc, eq, gt, isNull, lte, or, sql } from "drizzle-orm";
import type { Database } from "../db/database";
import { tokens } from "../db/schema";
import { DomainError, invalid } from "../errors";
import { isRole, isTier, type Role, type Tier } from "./roles";

export const TOKEN_PREFIX = "gct_";
const SECRET_BYTES = 32;
/** `gct_` + base64url (no padding) of 32 bytes: 43 characters. */
const TOKEN_PATTERN = /^gct_[A-Za-z0-9_-]{43}$/;
export const TOKEN_NAME_MAX = 100;
/** last_used_at is a hint for people, not an audit trail: one write a minute per token at most. */
export const TOUCH_INTERVAL_MS = 60_000;

// 32 symbols: a random byte's low 5 bits pick one without bias.
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

export function generateToken(): string {
  return TOKEN_PREFIX + crypto.randomBytes(SECRET_BYTES).toString("base64url");
}

export function generateTokenId(): string {
  const bytes = crypto.randomBytes(12);
  let id = "tok_";
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  return id;
}

const ID_PATTERN = /^tok_[a-z2-7]{12}$/;
/** Whether a string could be a token's id: anything else names no token and never reaches the store. */
export const isTokenId = (id: unknown): id is string => typeof id === "string" && ID_PATTERN.test(id);

export const hashSecret = (secret: string): string => crypto.createHash("sha256").update(secret).digest("hex");

/** Whether a presented string could be a token at all: anything else is refused without a query. */
export const isWellFormedToken = (secret: unknown): secret is string => typeof secret === "string" && TOKEN_PATTERN.test(secret);

/** Equal hex digests, compared without an early exit (the lengths are fixed, so not secret). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** A token as the store and its listings show it: everything but the hash. */
export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  tier: Tier;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedToken extends TokenInfo {
  /** The secret, returned this once and never stored. */
  token: string;
}

export interface CreateTokenInput {
  name: unknown;
  role: unknown;
  tier?: unknown;
  expiresAt?: Date | null;
  /** Or: expires this long after creation (by the store's clock). */
  expiresInMs?: number;
}

// C0 and C1 controls, DEL, and the line/paragraph separators: a name is shown in tables, pages and
// log lines, where any of these could fake a line or hide what follows.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function validateTokenName(name: unknown): string {
  if (typeof name !== "string") throw invalid("name must be a string");
  if (name.trim().length === 0) throw invalid("name must not be empty");
  if (name.length > TOKEN_NAME_MAX) throw invalid(`name must be at most ${TOKEN_NAME_MAX} characters`);
  if (CONTROL.test(name)) throw invalid("name must not contain control characters");
  return name;
}

export function validateRole(role: unknown): Role {
  if (!isRole(role)) throw invalid("role must be one of viewer, operator, admin");
  return role;
}

export function validateTier(tier: unknown): Tier {
  if (tier === undefined) return "starter";
  if (!isTier(tier)) throw invalid("tier must be one of starter, pro");
  return tier;
}

const infoColumns = {
  id: tokens.id, name: tokens.name, role: tokens.role, tier: tokens.tier, createdAt: tokens.createdAt,
  expiresAt: tokens.expiresAt, lastUsedAt: tokens.lastUsedAt, revokedAt: tokens.revokedAt,
};

/** Whether a token may act at `now`: not revoked, not expired. */
export const isLive = (t: Pick<TokenInfo, "revokedAt" | "expiresAt">, now: number): boolean =>
  t.revokedAt === null && (t.expiresAt === null || t.expiresAt.getTime() > now);

export class TokenStore {
  /** When each token's last_used_at was last written by this process. Bounded by the tokens verified. */
  private readonly touched = new Map<string, number>();
  private readonly revokeListeners = new Set<(id: string) => void>();

  constructor(
    private readonly database: () => Database,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: CreateTokenInput): Promise<CreatedToken> {
    const name = validateTokenName(input.name);
    const role = validateRole(input.role);
    const tier = validateTier(input.tier);
    // One reading of the clock: a 30d token then expires exactly 30 days after its creation.
    const now = Math.floor(this.now());
    const expiresAt = input.expiresInMs !== undefined ? new Date(now + input.expiresInMs) : input.expiresAt ?? null;
    if (expiresAt !== null) {
      if (!(expiresAt instanceof Date) || !Number.isFinite(expiresAt.getTime())) throw invalid("expiry must be a valid time");
      if (expiresAt.getTime() <= now) throw invalid("expiry must be in the future");
    }
    const token = generateToken();
    const [row] = await this.database().db.insert(tokens).values({
      id: generateTokenId(), name, role, tier, hash: hashSecret(token), expiresAt, createdAt: new Date(now),
    }).returning(infoColumns);
    return { ...row!, token };
  }

  /** Every token, oldest first, revoked ones included; never a secret or a hash. */
  async list(): Promise<TokenInfo[]> {
    return this.database().db.select(infoColumns).from(tokens).orderBy(asc(tokens.createdAt), asc(tokens.id));
  }

  async get(id: string): Promise<TokenInfo | undefined> {
    if (!isTokenId(id)) return undefined;
    const [row] = await this.database().db.select(infoColumns).from(tokens).where(eq(tokens.id, id)).limit(1);
    return row;
  }

  /** Revokes a token (keeping its first revocation time); false when there is no such token. */
  async revoke(id: string): Promise<boolean> {
    if (!isTokenId(id)) return false;
    const rows = await this.database().db.update(tokens)
      .set({ revokedAt: sql`coalesce(${tokens.revokedAt}, ${new Date(this.now()).toISOString()}::timestamptz)` })
      .where(eq(tokens.id, id)).returning({ id: tokens.id });
    if (rows.length === 0) return false;
    this.touched.delete(id);
    for (const fn of this.revokeListeners) fn(id);
    return true;
  }

  /** Called at once, in this process, when revoke() succeeds (the access cache drops the token). */
  onRevoke(fn: (id: string) => void): () => void {
    this.revokeListeners.add(fn);
    return () => this.revokeListeners.delete(fn);
  }

  /** The live token a secret belongs to, or undefined (malformed, unknown, revoked, expired). */
  async verify(secret: unknown, now: number = this.now()): Promise<TokenInfo | undefined> {
    if (!isWellFormedToken(secret)) return undefined;
    const hash = hashSecret(secret);
    const [row] = await this.database().db.select({ ...infoColumns, hash: tokens.hash }).from(tokens).where(eq(tokens.hash, hash)).limit(1);
    // The index lookup finds the row; the comparison that decides is the constant-time one.
    if (!row || !sameHash(row.hash, hash)) return undefined;
    const { hash: _, ...info } = row;
    return isLive(info, now) ? info : undefined;
  }

  /** Records a use, writing at most once a minute per token (and not at all within that minute). */
  async touch(id: string, now: number = this.now()): Promise<void> {
    const last = this.touched.get(id);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.touched.set(id, now);
    // Another process may have touched it just now: the condition keeps that to one write too.
    await this.database().db.update(tokens).set({ lastUsedAt: new Date(now) }).where(and(
      eq(tokens.id, id),
      or(isNull(tokens.lastUsedAt), lte(tokens.lastUsedAt, new Date(now - TOUCH_INTERVAL_MS))),
    ));
  }

  /** Whether a live admin token exists (first start creates one when not). */
  async hasAdmin(now: number = this.now()): Promise<boolean> {
    const [row] = await this.database().db.select({ id: tokens.id }).from(tokens).where(and(
      eq(tokens.role, "admin"), isNull(tokens.revokedAt), or(isNull(tokens.expiresAt), gt(tokens.expiresAt, new Date(now))),
    )).limit(1);
    return row !== undefined;
  }

  /**
   * Tokens that became unusable in (since, now]: revoked then, or expiring then. What the sweep
   * reports; `since` is a watermark, so each token shows up once per window.
   */
  async diedBetween(since: number, now: number): Promise<string[]> {
    const from = new Date(since);
    const to = new Date(now);
    const rows = await this.database().db.select({ id: tokens.id }).from(tokens).where(or(
      gt(tokens.revokedAt, from),
      and(gt(tokens.expiresAt, from), sql`${tokens.expiresAt} <= ${to.toISOString()}::timestamptz`),
    ));
    return rows.map((r) => r.id);
  }

  /** Forgets the touch times of tokens no longer seen (keeps the map bounded by live tokens). */
  forget(id: string): void {
    this.touched.delete(id);
  }
}

/** The refusal of every failed identification (access.md: one message, whatever went wrong). */
export const unauthorized = () => new DomainError("unauthorized", "authentication required");
