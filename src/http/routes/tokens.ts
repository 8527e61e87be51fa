// Tokens over HTTP (access.md "Managing tokens"), for admins: create (the secret answered once),
// list (never a secret) and revoke. The role each needs is declared in ROUTE_ACCESS (index.ts).
import { Elysia } from "elysia";
import { doc, json } from "../openapi";
import { TokenCreate, TokenCreated, TokenList } from "./schemas";
import type { Access } from "../../access";
import type { TokenInfo } from "../../access/tokens";
import { duration, SettingValueError } from "../../config/settings";
import { invalid, notFound } from "../../errors";
import { readJsonObject } from "../body";

export interface TokensDeps {
  access: Access;
  /** Most time a request body may keep the server waiting (--body-timeout-ms). */
  bodyTimeoutMs?: number;
}

/** A name, a role, a tier and an expiry: a few hundred bytes. Anything much larger is no token request. */
const MAX_BODY_BYTES = 16 * 1024;
const MAX_EXPIRY_MS = 3650 * 86_400_000;
const parseDuration = duration(1000, MAX_EXPIRY_MS);

export const tokenJson = (t: TokenInfo) => ({
  id: t.id,
  name: t.name,
  role: t.role,
  tier: t.tier,
  created_at: t.createdAt.toISOString(),
  expires_at: t.expiresAt?.toISOString() ?? null,
  last_used_at: t.lastUsedAt?.toISOString() ?? null,
  revoked_at: t.revokedAt?.toISOString() ?? null,
});

/** `expires_in`: whole seconds, or a duration such as 30d, 12h, 90m (what the CLI's --expires takes). */
export function expiresInMs(raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "number") {
    if (!Number.isInteger(raw) || raw < 1 || raw * 1000 > MAX_EXPIRY_MS) throw invalid("expires_in: must be whole seconds from 1 to 3650 days");
    return raw * 1000;
  }
  if (typeof raw === "string" && raw.length <= 32) {
    try {
      return parseDuration(raw);
    } catch (err) {
      if (err instanceof SettingValueError) throw invalid(`expires_in: ${err.message}`);
      throw err;
    }
  }
  throw invalid("expires_in: must be whole seconds or a duration such as 30d");
}


export function tokensRoutes(deps: TokensDeps) {
  const { access } = deps;
  const timeoutMs = deps.bodyTimeoutMs ?? 30_000;
  return new Elysia({ name: "tokens" })
    .post("/api/tokens", async ({ request, set }) => {
      const body = await readJsonObject(request, { maxBytes: MAX_BODY_BYTES, timeoutMs }, "name and role");
      const ms = expiresInMs(body.expires_in);
      const created = await access.tokens.create({ name: body.name, role: body.role, tier: body.tier, expiresInMs: ms });
      set.status = 201;
      // The secret is in this answer and nowhere else: no cache may keep a copy.
      set.headers["cache-control"] = "no-store";
      const t = tokenJson(created);
      return { id: t.id, token: created.token, name: t.name, role: t.role, tier: t.tier, created_at: t.created_at, expires_at: t.expires_at };
    }, { parse: "none", detail: doc({
      summary: "Create a token (its secret is in this answer only)", tag: "tokens",
      body: { "application/json": TokenCreate },
      responses: { 201: json(TokenCreated), 400: "the body is not valid JSON", 422: "a missing or bad name, role, tier or expires_in" },
    }) })
    .get("/api/tokens", async ({ set }) => {
      set.headers["cache-control"] = "no-store";
      return { tokens: (await access.tokens.list()).map(tokenJson) };
    }, { detail: doc({ summary: "Every token (never a secret)", tag: "tokens", responses: { 200: json(TokenList) } }) })
    .delete("/api/tokens/:id", async ({ params, set }) => {
      if (!(await access.tokens.revoke(params.id))) throw notFound("Token not found");
      set.status = 204;
      return "";
    }, { detail: doc({
      summary: "Revoke a token: its sessions end and its sockets close with 4001", tag: "tokens", params: { id: "the token's id" },
      responses: { 204: "revoked", 404: "Token not found" },
    }) });
}
