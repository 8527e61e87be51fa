// The Access service: who a request is (bearer token or session cookie, never the query string),
// refusals of bad ones, revocation refusing the next request at once, and the 1 s sweep.
import { expect, spyOn, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createAccess, ensureAdmin, OPEN_IDENTITY, SESSION_COOKIE, type Access } from "../../src/access";
import { DomainError } from "../../src/errors";
import { FakeClock } from "../realtime/fakes";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";

const MIN = 60_000;
const req = (headers: Record<string, string> = {}, url = "http://127.0.0.1:3000/api/jobs") => new Request(url, { headers });
const bearer = (token: string) => req({ authorization: `Bearer ${token}` });

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return { code: (err as DomainError).code, message: (err as DomainError).message };
  }
  throw new Error("not refused");
}

forEachDatabase("access", (db) => {
  const make = (clock = new FakeClock(), ttl = 10 * MIN): { access: Access; clock: FakeClock } => ({
    access: createAccess({ database: db, mode: "on", clock, sessionTtlMs: ttl }),
    clock,
  });

  test("auth off: every request is the open identity, whatever it presents", async () => {
    const access = createAccess({ database: db, mode: "off", sessionTtlMs: MIN });
    expect(await access.identify(req())).toBe(OPEN_IDENTITY);
    expect(await access.identify(req({ authorization: "Bearer nonsense" }))).toBe(OPEN_IDENTITY);
    expect(await ensureAdmin(access, "http://127.0.0.1:3000/login")).toBeNull();
  });

  test("a bearer token identifies; nothing presented is null", async () => {
    const { access } = make();
    const tok = await access.tokens.create({ name: "bot", role: "operator", tier: "pro" });
    expect(await access.identify(req())).toBeNull();
    expect(await access.identify(bearer(tok.token))).toEqual({ kind: "token", tokenId: tok.id, name: "bot", role: "operator", tier: "pro" });
    expect(await access.identify(req({ authorization: `bearer   ${tok.token}` }))).toMatchObject({ tokenId: tok.id });
  });

  test("malformed, truncated, foreign and unknown bearer headers are refused alike", async () => {
    const { access } = make();
    const tok = await access.tokens.create({ name: "bot", role: "operator" });
    for (const header of [
      "", "Bearer", "Bearer ", `Bearer ${tok.token.slice(0, 20)}`, `Bearer ${tok.token}x`, `Basic ${btoa("a:b")}`,
      `Token ${tok.token}`, `Bearer ${tok.token} ${tok.token}`, `Bearer tok_${tok.token.slice(4)}`, `Bearer gct_${"A".repeat(43)}`,
      `Bearer\t${tok.token.slice(0, 46)}`,
    ]) {
      const r = await refusal(access.identify(req({ authorization: header })));
      expect(r).toEqual({ code: "unauthorized", message: "authentication required" });
    }
  });

  test("a token in the query string is not read", async () => {
    const { access } = make();
    const tok = await access.tokens.create({ name: "bot", role: "admin" });
    for (const q of [`token=${tok.token}`, `access_token=${tok.token}`, `authorization=Bearer%20${tok.token}`]) {
      expect(await access.identify(req({}, `http://127.0.0.1:3000/api/jobs?${q}`))).toBeNull();
    }
  });

  test("revocation refuses the very next request, though the token was cached", async () => {
    const { access } = make();
    const tok = await access.tokens.create({ name: "bot", role: "operator" });
    const heard: string[] = [];
    access.onRevoked((id) => heard.push(id));
    expect((await access.identify(bearer(tok.token)))?.tokenId).toBe(tok.id);
    const select = spyOn(db().db, "select");
    try {
      expect((await access.identify(bearer(tok.token)))?.tokenId).toBe(tok.id);
      expect(select).not.toHaveBeenCalled(); // served from the cache
    } finally {
      select.mockRestore();
    }
    expect(await access.tokens.revoke(tok.id)).toBe(true);
    expect(heard).toEqual([tok.id]);
    expect((await refusal(access.identify(bearer(tok.token)))).code).toBe("unauthorized");
  });

  test("expiry refuses the next request, cached or not", async () => {
    const { access, clock } = make();
    const tok = await access.tokens.create({ name: "brief", role: "viewer", expiresAt: new Date(clock.now() + 1000) });
    expect((await access.identify(bearer(tok.token)))?.tokenId).toBe(tok.id);
    clock.t += 1000;
    expect((await refusal(access.identify(bearer(tok.token)))).code).toBe("unauthorized");
  });

  test("login opens a session the cookie identifies, with its CSRF token; logout ends it", async () => {
    const { access } = make();
    const tok = await access.tokens.create({ name: "ann", role: "admin" });
    expect((await refusal(access.login("gct_wrong"))).code).toBe("unauthorized");
    expect((await refusal(access.login(`gct_${"A".repeat(43)}`))).code).toBe("unauthorized");
    const s = await access.login(tok.token);
    const cookie = req({ cookie: `other=1; ${SESSION_COOKIE}=${s.cookie}` });
    const id = await access.identify(cookie);
    expect(id).toMatchObject({ kind: "session", tokenId: tok.id, name: "ann", role: "admin", csrf: s.csrf });
    expect(id?.sessionId).toMatch(/^[0-9a-f]{64}$/);
    expect(s.identity).toEqual(id!);
    expect(await access.logout(cookie)).toBe(true);
    expect((await refusal(access.identify(cookie))).code).toBe("unauthorized");
    expect(await access.logout(cookie)).toBe(false);
  });

  test("forged and stale session cookies are refused", async () => {
    const { access, clock } = make(new FakeClock(), MIN);
    const tok = await access.tokens.create({ name: "ann", role: "viewer" });
    for (const forged of ["x", "A".repeat(43), "A".repeat(44), "../../etc", "%00"]) {
      expect((await refusal(access.identify(req({ cookie: `${SESSION_COOKIE}=${forged}` })))).code).toBe("unauthorized");
    }
    const s = await access.login(tok.token);
    const cookie = req({ cookie: `${SESSION_COOKIE}=${s.cookie}` });
    expect((await access.identify(cookie))?.kind).toBe("session");
    clock.t += MIN;
    expect((await refusal(access.identify(cookie))).code).toBe("unauthorized");
  });

  test("a session dies with its token", async () => {
    const { access } = make();
    const tok = await access.tokens.create({ name: "ann", role: "viewer" });
    const s = await access.login(tok.token);
    const cookie = req({ cookie: `${SESSION_COOKIE}=${s.cookie}` });
    expect((await access.identify(cookie))?.kind).toBe("session");
    await access.tokens.revoke(tok.id);
    expect((await refusal(access.identify(cookie))).code).toBe("unauthorized");
    await eventually(async () => (await db().rows(sql`select id from sessions`)).length === 0, { what: "sessions deleted" });
  });

  test("the sweep reports tokens revoked by another process and expired ones, within one sweep", async () => {
    const { access, clock } = make();
    const other = createAccess({ database: db, mode: "on", clock, sessionTtlMs: MIN }); // another daemon on the same store
    const revoked = await access.tokens.create({ name: "r", role: "viewer" });
    const expiring = await access.tokens.create({ name: "e", role: "viewer", expiresAt: new Date(clock.now() + 2500) });
    const s = await access.login(revoked.token);
    const cookie = req({ cookie: `${SESSION_COOKIE}=${s.cookie}` });
    expect((await access.identify(bearer(revoked.token)))?.tokenId).toBe(revoked.id);
    expect((await access.identify(cookie))?.tokenId).toBe(revoked.id);
    const heard: string[] = [];
    access.onRevoked((id) => heard.push(id));
    access.start();
    try {
      await other.tokens.revoke(revoked.id);
      expect(heard).toEqual([]); // the other process's revoke is only seen by the sweep
      clock.advance(1000);
      await eventually(() => heard.includes(revoked.id), { what: "revocation reported" });
      // the cache entry was dropped: refused at once, not after the cache's few seconds
      expect((await refusal(access.identify(bearer(revoked.token)))).code).toBe("unauthorized");
      expect((await refusal(access.identify(cookie))).code).toBe("unauthorized");
      await access.sweep();
      expect(heard).toEqual([revoked.id]); // once, not once per sweep
      await eventually(() => clock.timers.size === 1, { what: "next sweep scheduled" });
      clock.advance(1000); // t0 + 2 s: not expired yet
      await access.sweep();
      expect(heard).toEqual([revoked.id]);
      await eventually(() => clock.timers.size === 1, { what: "next sweep scheduled" });
      clock.advance(1000); // t0 + 3 s: past the expiry
      await eventually(() => heard.includes(expiring.id), { what: "expiry reported" });
      expect(heard).toEqual([revoked.id, expiring.id]);
    } finally {
      access.stop();
    }
    expect(clock.timers.size).toBe(0);
  });

  test("ensureAdmin creates one admin once and gives the login line", async () => {
    const { access } = make();
    const line = await ensureAdmin(access, "http://0.0.0.0:3000/login");
    expect(line).toMatch(/^admin login: http:\/\/0\.0\.0\.0:3000\/login#token=gct_[A-Za-z0-9_-]{43}$/);
    const token = line!.split("#token=")[1]!;
    expect(await access.identify(bearer(token))).toMatchObject({ name: "admin", role: "admin" });
    expect(await ensureAdmin(access, "http://0.0.0.0:3000/login")).toBeNull();
    expect((await access.tokens.list()).length).toBe(1);
  });
});
