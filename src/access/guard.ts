// The guard every request passes (access.md), in this order: the Host it was sent to, the
// cross-site rule, who it is, what its route requires, the session's CSRF token, the rate limits.
// It throws domain errors and knows no statuses; src/http/routes/index.ts runs it from one global
// hook and turns a page's missing identity into the way to /login.
import { timingSafeEqual } from "node:crypto";
import { networkInterfaces } from "node:os";
import { rebuiltOnChange } from "../config/live";
import { DomainError } from "../errors";
import { FORM_BYTES, readText } from "../http/body";
import { CSRF_FIELD, CSRF_HEADER } from "./index";
import type { LimitKind, RateLimits } from "./rate-limit";
import { roleAtLeast, type Identity, type Requirement } from "./roles";

/** What the guard asks of the access service (contract in src/access/index.ts). */
export interface Identifier {
  identify(request: Request): Promise<Identity | null>;
}

export interface GuardOptions {
  access: Identifier;
  /** The route's one requirement (the table beside the route mounts); undefined: not declared. */
  requirementOf(method: string, route: string): Requirement | undefined;
  /** The rate limit a route counts against, if any. */
  limitOf(method: string, route: string): LimitKind | undefined;
  limits: RateLimits;
  /** The address the server listens on (--host). */
  listenHost: string;
  /** --allowed-hosts: more names the server answers to (behind a proxy, on a LAN name). */
  allowedHosts: readonly string[];
  /** --allowed-origins: more origins whose pages may send changes (and open sockets). */
  allowedOrigins: readonly string[];
  /** Most time a form body read for its `_csrf` field may keep the guard waiting. */
  bodyTimeoutMs: number;
}

export interface Guard {
  /** Host and cross-site rules: every request, matched to a route or not, in every mode. */
  screen(request: Request): void;
  /** Identity, requirement, CSRF and rate limits for a request matched to `route`; the identity is kept for identityOf. */
  admit(request: Request, route: string, ip: string): Promise<Identity | null>;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** 403 for a change sent from another site, or without its session's CSRF token: one message for both. */
export const crossSite = () => new DomainError("forbidden", "cross-site request refused");
const roleRefused = (role: string) => new DomainError("forbidden", `requires role ${role}`);
const unauthorized = () => new DomainError("unauthorized", "authentication required");

// A WeakMap rather than an Elysia derive: handlers, pages and the realtime binding all hold the
// Request, so they can ask without threading a typed context through every plugin, and the entry
// goes when the request does.
const identities = new WeakMap<Request, Identity | null>();

/** The identity the guard admitted a request as; null when it presented none (public routes) or never passed the guard. */
export const identityOf = (request: Request): Identity | null => identities.get(request) ?? null;

/**
 * A Host header's name as URL parsing canonicalises it (lowercase, port gone, IPv6 in brackets,
 * `127.1` written `127.0.0.1`), without a trailing dot; null when it is no host at all.
 */
export function hostName(host: string | null | undefined): string | null {
  if (!host || host.length > 300 || /[\s/\\?#@]/.test(host)) return null;
  try {
    const name = new URL(`http://${host}`).hostname;
    return name.endsWith(".") ? name.slice(0, -1) : name;
  } catch {
    return null;
  }
}

/** localhost, 127.0.0.0/8, ::1 (and 127.x mapped into IPv6): what only this machine can be. */
export function isLoopback(name: string): boolean {
  if (name === "localhost" || name === "[::1]") return true;
  if (/^127\.\d+\.\d+\.\d+$/.test(name)) return true; // canonical form: each part 0-255 already
  return /^\[::ffff:(7f[0-9a-f]{2}:[0-9a-f]{1,4}|127\.\d+\.\d+\.\d+)\]$/.test(name);
}

const WILDCARDS = new Set(["0.0.0.0", "[::]"]);

/** The names a request may be addressed to, besides loopback: the listen address (every interface's when it is a wildcard) and --allowed-hosts. */
function answeredNames(listenHost: string, allowedHosts: readonly string[]): Set<string> {
  const names = new Set<string>();
  const add = (h: string) => {
    const n = hostName(h.includes(":") && !h.startsWith("[") ? `[${h}]` : h);
    if (n) names.add(n);
  };
  for (const h of allowedHosts) add(h.trim());
  const listen = hostName(listenHost.includes(":") && !listenHost.startsWith("[") ? `[${listenHost}]` : listenHost);
  if (listen && WILDCARDS.has(listen)) {
    // Bound to every interface: an address of this machine is its own (a rebinding attack needs
    // a name, and an IP literal names nobody else's server).
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) add(a.address);
  } else if (listen) {
    names.add(listen);
  }
  return names;
}

/** An origin as the browser writes it (scheme://host[:port], default port dropped); null for `null` and junk. */
function originOf(value: string): string | null {
  try {
    const o = new URL(value.trim()).origin;
    return o === "null" ? null : o;
  } catch {
    return null;
  }
}

/** Equal strings, compared in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createGuard(options: GuardOptions): Guard {
  // The lists are read at each request (a reload may replace them: src/server/reload.ts).
  const answered = rebuiltOnChange(() => options.allowedHosts, (hosts) => answeredNames(options.listenHost, hosts));
  const allowed = rebuiltOnChange(() => options.allowedOrigins, (list) => ({
    any: list.includes("*"), origins: new Set(list.map(originOf).filter((o): o is string => o !== null)),
  }));

  function checkHost(request: Request): void {
    const raw = request.headers.get("host");
    const name = hostName(raw);
    if (name && (isLoopback(name) || answered().has(name))) return;
    const shown = JSON.stringify((raw ?? "").slice(0, 100));
    throw new DomainError("misdirected", `this server does not answer to host ${shown} (add it to --allowed-hosts)`);
  }

  /** A change must come from this server's own pages (or an allowed origin); Origin first, else Referer. */
  function checkSameSite(request: Request): void {
    if (SAFE_METHODS.has(request.method)) return;
    const stated = request.headers.get("origin") ?? request.headers.get("referer");
    if (stated === null) return; // no browser sends a cross-site change without either: a script or curl
    const origin = originOf(stated);
    if (origin === null) throw crossSite(); // `Origin: null` (sandboxed frames, data: pages) or junk
    const own = originOf(`${new URL(request.url).protocol}//${request.headers.get("host")}`);
    const { any, origins } = allowed();
    if (origin === own || any || origins.has(origin)) return;
    throw crossSite();
  }

  /** The request's method as the route table writes it: an upgrade is `WS`, HEAD is served by GET. */
  function requirement(request: Request, route: string): Requirement {
    const method = request.method === "HEAD" ? "GET" : request.method;
    const isUpgrade = (request.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
    const need = (isUpgrade ? options.requirementOf("WS", route) : undefined) ?? options.requirementOf(method, route);
    // Startup refuses an undeclared route; one that slips past it stays closed rather than open.
    if (need === undefined) throw new Error(`route ${method} ${route} has no entry in ROUTE_ACCESS`);
    return need;
  }

  /**
   * The CSRF token a cookie-authenticated change carries: the X-CSRF-Token header (htmx, scripts);
   * the `_csrf` field of a urlencoded form (the body read once, bounded, and kept for the handler:
   * readText); for a multipart form, `?_csrf=` in the form's action URL. The multipart
   * field is not read: its place in the body is the client's choice (after a 1 GB file, say), so
   * finding it would mean parsing the upload before the guard decides, while the query is known
   * before one byte of the body is read and a refused upload is dropped unread. The CSRF token is
   * no credential without the cookie, and Referrer-Policy: same-origin keeps the URL on this site.
   */
  async function presentedCsrf(request: Request): Promise<string | null> {
    const header = request.headers.get(CSRF_HEADER);
    if (header !== null) return header;
    const type = (request.headers.get("content-type") ?? "").toLowerCase();
    if (type.startsWith("multipart/form-data")) return new URL(request.url).searchParams.get(CSRF_FIELD);
    // A handler that takes Elysia's parsed `body` has had the body read before the guard runs:
    // such a form must send the header (the page forms read their own bodies, parse: "none").
    if (type.startsWith("application/x-www-form-urlencoded") && !request.bodyUsed) {
      const text = await readText(request, { maxBytes: FORM_BYTES, timeoutMs: options.bodyTimeoutMs });
      return new URLSearchParams(text).get(CSRF_FIELD);
    }
    return null;
  }

  async function checkCsrf(request: Request, identity: Identity): Promise<void> {
    if (identity.kind !== "session" || SAFE_METHODS.has(request.method)) return;
    const presented = await presentedCsrf(request);
    if (presented === null || !identity.csrf || !sameSecret(presented, identity.csrf)) throw crossSite();
  }

  return {
    screen(request) {
      checkHost(request);
      checkSameSite(request);
    },

    async admit(request, route, ip) {
      const need = requirement(request, route);
      let identity: Identity | null;
      try {
        identity = await options.access.identify(request);
      } catch (err) {
        // A stale cookie on /login or /health is nobody, not a refusal.
        if (need !== "public" || !(err instanceof DomainError) || err.code !== "unauthorized") throw err;
        identity = null;
      }
      identities.set(request, identity);
      if (need !== "public") {
        if (!identity) throw unauthorized();
        if (!roleAtLeast(identity.role, need)) throw roleRefused(need);
        await checkCsrf(request, identity);
      }
      const kind = options.limitOf(request.method, route);
      if (kind) options.limits[kind].take(identity?.tokenId ? `token:${identity.tokenId}` : `ip:${ip}`);
      return identity;
    },
  };
}
