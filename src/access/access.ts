// The Access service (contract in src/access/index.ts): who a request is, from a bearer token or a
// session cookie, with a short cache so most requests cost no query, and a 1 s sweep that finds
// tokens revoked or expired (here or by another process sharing the store) and tells listeners.
import type { Database } from "../db/database";
import type { Logger } from "../log/logger";
import { systemClock, type Clock } from "../realtime/transport";
// Only read inside functions, so the cycle with index.ts (which re-exports this file) is harmless.
import { SESSION_COOKIE } from "./index";
import { OPEN_IDENTITY, type Identity } from "./roles";
import { SessionStore, type CreatedSession, type SessionInfo } from "./sessions";
import { isLive, isWellFormedToken, hashSecret, TokenStore, unauthorized, type TokenInfo } from "./tokens";

export type AuthMode = "on" | "off";

export interface AccessOptions {
  database: Database | (() => Database);
  mode: AuthMode;
  clock?: Clock;
  /** Lifetime of a browser session (setting --session-ttl). */
  sessionTtlMs: number;
  logger?: Pick<Logger, "info" | "warn" | "error">;
  /** How often the sweep runs (1 s: access.md's bound on closing a revoked token's sockets). */
  sweepMs?: number;
}

/** Anything with request headers: a fetch Request, or an upgrade's. */
export interface HeadersCarrier {
  headers: Headers;
}

export interface LoginResult extends CreatedSession {
  identity: Identity;
}

export interface Access {
  readonly mode: AuthMode;
  readonly tokens: TokenStore;
  readonly sessions: SessionStore;
  readonly sessionTtlMs: number;
  /** The identity a request presents; null when it presents none; DomainError unauthorized for a bad one. */
  identify(request: HeadersCarrier): Promise<Identity | null>;
  /** Checks a token typed into /login and opens a session for it; DomainError unauthorized when refused. */
  login(secret: unknown): Promise<LoginResult>;
  /** Ends the session a request's cookie names (POST /logout); false when it had none. */
  logout(request: HeadersCarrier): Promise<boolean>;
  /** fn(tokenId) once a token is revoked (at once in this process) or found revoked/expired by the sweep. */
  onRevoked(fn: (tokenId: string) => void): () => void;
  /** fn(sessionId) once a browser session ended by logout: `here` in this process, or told by another node. */
  onSessionEnded(fn: (sessionId: string, here: boolean) => void): () => void;
  /** Another node revoked this token (the cluster bus): as if this node's sweep had found it, at once. */
  revokedElsewhere(tokenId: string): void;
  /** Another node ended this session (its stored id): its cached identity goes, and the listeners hear it. */
  sessionEndedElsewhere(sessionId: string): void;
  start(): void;
  stop(): void;
  /** One sweep now (what the timer runs; tests and shutdown may call it). */
  sweep(): Promise<void>;
}

/** A verified token or session is trusted this long without a query; revocation here drops it at once. */
const CACHE_MS = 2_000;
const CACHE_MAX = 1_000;
/** Clocks of processes sharing a PostgreSQL differ: the sweep looks this far behind its watermark. */
const SWEEP_SLACK_MS = 60_000;
/** Expired sessions are deleted once a minute of sweeps, not every second. */
const SESSION_GC_EVERY = 60;

const BEARER = /^[ \t]*bearer[ \t]+(\S+)[ \t]*$/i;

/** The value of one cookie in a Cookie header (the first, when a name repeats). */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return undefined;
}

/** A small map that forgets its oldest entry past a size and each entry past its time. */
class ShortCache<V extends { tokenId: string }> {
  private readonly map = new Map<string, { value: V; until: number }>();
  get(key: string, now: number): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    if (hit.until <= now) {
      this.map.delete(key);
      return undefined;
    }
    return hit.value;
  }
  set(key: string, value: V, now: number): void {
    this.map.delete(key);
    if (this.map.size >= CACHE_MAX) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, { value, until: now + CACHE_MS });
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  dropToken(tokenId: string): void {
    for (const [k, v] of this.map) if (v.value.tokenId === tokenId) this.map.delete(k);
  }
}

const tokenIdentity = (t: TokenInfo): Identity => ({ kind: "token", tokenId: t.id, name: t.name, role: t.role, tier: t.tier });
const sessionIdentity = (s: SessionInfo, t: TokenInfo): Identity => ({
  kind: "session", tokenId: t.id, name: t.name, role: t.role, tier: t.tier, sessionId: s.id, csrf: s.csrf,
});

const quiet = { info() {}, warn() {}, error() {} };

export function createAccess(options: AccessOptions): Access {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? quiet;
  const getDatabase = typeof options.database === "function" ? options.database : () => options.database as Database;
  const now = () => clock.now();
  const tokens = new TokenStore(getDatabase, now);
  const sessions = new SessionStore(getDatabase);
  const sweepMs = options.sweepMs ?? 1_000;

  const tokenCache = new ShortCache<TokenInfo & { tokenId: string }>();
  const sessionCache = new ShortCache<{ tokenId: string; session: SessionInfo; token: TokenInfo }>();
  const listeners = new Set<(tokenId: string) => void>();
  const sessionListeners = new Set<(sessionId: string, here: boolean) => void>();
  /** Tokens already reported, with when: a token is reported once, whoever found it first. */
  const reported = new Map<string, number>();

  let timer: unknown = null;
  let running = false;
  let watermark = now();
  let sweeps = 0;
  let sweeping: Promise<void> | null = null;

  function report(tokenId: string): void {
    tokenCache.dropToken(tokenId);
    sessionCache.dropToken(tokenId);
    tokens.forget(tokenId);
    if (reported.has(tokenId)) return;
    reported.set(tokenId, now());
    sessions.endForToken(tokenId).catch((err) => logger.warn("could not end the sessions of a revoked token", { token: tokenId, error: (err as Error).message }));
    for (const fn of listeners) {
      try {
        fn(tokenId);
      } catch (err) {
        logger.error("a revocation listener failed", { token: tokenId, error: (err as Error).message });
      }
    }
  }

  tokens.onRevoke((id) => {
    logger.info("token revoked", { token: id });
    report(id);
  });

  function touch(tokenId: string, t: number): void {
    tokens.touch(tokenId, t).catch((err) => logger.warn("could not record a token's last use", { token: tokenId, error: (err as Error).message }));
  }

  async function byToken(secret: string, t: number): Promise<Identity> {
    if (!isWellFormedToken(secret)) throw unauthorized();
    const key = hashSecret(secret);
    let info: TokenInfo | undefined = tokenCache.get(key, t);
    if (!info) {
      info = await tokens.verify(secret, t);
      if (!info) throw unauthorized();
      tokenCache.set(key, { ...info, tokenId: info.id }, t);
    } else if (!isLive(info, t)) {
      tokenCache.delete(key);
      throw unauthorized();
    }
    touch(info.id, t);
    return tokenIdentity(info);
  }

  async function byCookie(cookie: string, t: number): Promise<Identity> {
    const key = hashSecret(cookie);
    let hit = sessionCache.get(key, t);
    if (hit && (hit.session.expiresAt.getTime() <= t || !isLive(hit.token, t))) {
      sessionCache.delete(key);
      hit = undefined;
    }
    if (!hit) {
      const found = await sessions.get(cookie, t);
      if (!found) throw unauthorized();
      hit = { tokenId: found.token.id, ...found };
      sessionCache.set(key, hit, t);
    }
    touch(hit.token.id, t);
    return sessionIdentity(hit.session, hit.token);
  }

  async function identify(request: HeadersCarrier): Promise<Identity | null> {
    if (options.mode === "off") return OPEN_IDENTITY;
    const t = now();
    const authorization = request.headers.get("authorization");
    if (authorization !== null) {
      const m = BEARER.exec(authorization);
      if (!m) throw unauthorized();
      return byToken(m[1]!, t);
    }
    const cookie = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
    if (cookie === undefined || cookie === "") return null;
    return byCookie(cookie, t);
  }

  async function login(secret: unknown): Promise<LoginResult> {
    const t = now();
    const info = isWellFormedToken(secret) ? await tokens.verify(secret, t) : undefined;
    if (!info) throw unauthorized();
    const created = await sessions.create(info.id, t, options.sessionTtlMs);
    touch(info.id, t);
    const session = { id: hashSecret(created.cookie), tokenId: info.id, csrf: created.csrf, createdAt: new Date(t), expiresAt: created.expiresAt };
    return { ...created, identity: sessionIdentity(session, info) };
  }

  function sessionEnded(sessionId: string, here: boolean): void {
    // The cache is keyed by the cookie's hash, which is the session's stored id.
    sessionCache.delete(sessionId);
    for (const fn of sessionListeners) {
      try {
        fn(sessionId, here);
      } catch (err) {
        logger.error("a session listener failed", { error: (err as Error).message });
      }
    }
  }

  async function logout(request: HeadersCarrier): Promise<boolean> {
    const cookie = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
    if (!cookie) return false;
    const id = hashSecret(cookie);
    sessionCache.delete(id);
    const ended = await sessions.end(cookie);
    if (ended) sessionEnded(id, true);
    return ended;
  }

  async function sweepOnce(): Promise<void> {
    const t = now();
    try {
      const died = await tokens.diedBetween(watermark - SWEEP_SLACK_MS, t);
      // Only a sweep that read the store moves the watermark: a failed one is retried, not skipped.
      watermark = t;
      for (const id of died) report(id);
      for (const [id, at] of reported) if (t - at > 2 * SWEEP_SLACK_MS) reported.delete(id);
      if (++sweeps % SESSION_GC_EVERY === 0) await sessions.deleteExpired(t);
    } catch (err) {
      logger.warn("token sweep failed; retrying", { error: (err as Error).message });
    }
  }

  function sweep(): Promise<void> {
    // One at a time: a slow store must not pile sweeps up.
    sweeping ??= sweepOnce().finally(() => {
      sweeping = null;
    });
    return sweeping;
  }

  function schedule(): void {
    timer = clock.setTimeout(() => {
      timer = null;
      void sweep().finally(() => {
        if (running) schedule();
      });
    }, sweepMs);
  }

  return {
    mode: options.mode,
    tokens,
    sessions,
    sessionTtlMs: options.sessionTtlMs,
    identify,
    login,
    logout,
    onRevoked(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    onSessionEnded(fn) {
      sessionListeners.add(fn);
      return () => sessionListeners.delete(fn);
    },
    revokedElsewhere: (tokenId) => report(tokenId),
    sessionEndedElsewhere: (sessionId) => sessionEnded(sessionId, false),
    start() {
      if (running || options.mode === "off") return;
      running = true;
      watermark = now();
      schedule();
    },
    stop() {
      running = false;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
    },
    sweep,
  };
}
