// Tokens and sessions in the store (access.md "Identities"): only hashes kept, constant-time
// comparison, expiry, revocation, a last-used time written at most once a minute.
import { describe, expect, spyOn, test } from "bun:test";
import crypto from "node:crypto";
import { sql } from "drizzle-orm";
import { SessionStore } from "../../src/access/sessions";
import { generateToken, hashSecret, TokenStore } from "../../src/access/tokens";
import { DomainError } from "../../src/errors";
import { forEachDatabase } from "../support/db";

const T0 = 1_700_000_000_000;
const MIN = 60_000;

async function refused(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return (err as DomainError).code;
  }
  throw new Error("not refused");
}

describe("token secrets", () => {
  test("are gct_ + base64url of 32 bytes, and differ", () => {
    const a = generateToken();
    expect(a).toMatch(/^gct_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(4), "base64url").length).toBe(32);
    expect(generateToken()).not.toBe(a);
    expect(hashSecret("x")).toMatch(/^[0-9a-f]{64}$/);
  });
});

forEachDatabase("token store", (db) => {
  let t = T0;
  const store = () => new TokenStore(db, () => t);

  test("create returns the secret once; the table holds only its hash", async () => {
    t = T0;
    const s = store();
    const created = await s.create({ name: "ci bot", role: "operator" });
    expect(created.id).toMatch(/^tok_[a-z2-7]{12}$/);
    expect(created.tier).toBe("starter");
    expect(created.revokedAt).toBeNull();
    const rows = await db().rows<Record<string, unknown>>(sql`select * from tokens`);
    expect(rows.length).toBe(1);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(created.token);
    expect(dump).not.toContain(created.token.slice(4));
    expect(rows[0]!.hash).toBe(hashSecret(created.token));
    const listed = await s.list();
    expect(listed.map((r) => r.id)).toEqual([created.id]);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect(listed[0]).not.toHaveProperty("hash");
    expect(listed[0]).not.toHaveProperty("token");
  });

  test("verify accepts the token, compares in constant time, refuses others", async () => {
    t = T0;
    const s = store();
    const created = await s.create({ name: "a", role: "viewer", tier: "pro" });
    const spy = spyOn(crypto, "timingSafeEqual");
    try {
      const ok = await s.verify(created.token, t);
      expect(ok?.id).toBe(created.id);
      expect(ok?.tier).toBe("pro");
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(await s.verify(generateToken(), t)).toBeUndefined();
    expect(await s.verify(created.token.slice(0, -1), t)).toBeUndefined();
    expect(await s.verify("gcx_" + created.token.slice(4), t)).toBeUndefined();
    expect(await s.verify(created.token + "A", t)).toBeUndefined();
    expect(await s.verify(created.token.slice(0, -1) + "=", t)).toBeUndefined();
    expect(await s.verify(undefined, t)).toBeUndefined();
  });

  test("a malformed secret is refused without a query", async () => {
    const s = store();
    const execute = spyOn(db().db, "select");
    try {
      for (const bad of ["", "gct_", "Bearer x", "gct_" + "a".repeat(42), "gct_" + "a".repeat(42) + "!", "tok_" + "a".repeat(43), "gct_" + "a".repeat(42) + "\u0000"]) {
        expect(await s.verify(bad, T0)).toBeUndefined();
      }
      expect(execute).not.toHaveBeenCalled();
    } finally {
      execute.mockRestore();
    }
  });

  test("revoke refuses the token from then on, and says whether it existed", async () => {
    t = T0;
    const s = store();
    const heard: string[] = [];
    s.onRevoke((id) => heard.push(id));
    const created = await s.create({ name: "a", role: "admin" });
    expect(await s.hasAdmin()).toBe(true);
    expect(await s.revoke(created.id)).toBe(true);
    expect(heard).toEqual([created.id]);
    expect(await s.verify(created.token, t)).toBeUndefined();
    expect(await s.hasAdmin()).toBe(false);
    const first = (await s.get(created.id))!.revokedAt!.getTime();
    t += MIN;
    expect(await s.revoke(created.id)).toBe(true); // again: still revoked, first time kept
    expect((await s.get(created.id))!.revokedAt!.getTime()).toBe(first);
    expect(await s.revoke("tok_nosuchtoken1")).toBe(false);
  });

  test("an expired token is refused from its expiry on", async () => {
    t = T0;
    const s = store();
    const created = await s.create({ name: "short", role: "admin", expiresAt: new Date(T0 + MIN) });
    expect((await s.verify(created.token, T0 + MIN - 1))?.id).toBe(created.id);
    expect(await s.verify(created.token, T0 + MIN)).toBeUndefined();
    t = T0 + MIN;
    expect(await s.hasAdmin()).toBe(false);
    expect(await s.diedBetween(T0, T0 + MIN)).toEqual([created.id]);
    expect(await s.diedBetween(T0 + MIN, T0 + 2 * MIN)).toEqual([]);
  });

  test("touch writes last_used_at at most once a minute", async () => {
    t = T0;
    const s = store();
    const created = await s.create({ name: "a", role: "viewer" });
    expect(created.lastUsedAt).toBeNull();
    const update = spyOn(db().db, "update");
    try {
      await s.touch(created.id, T0);
      await s.touch(created.id, T0 + 1000);
      await s.touch(created.id, T0 + MIN - 1);
      expect(update).toHaveBeenCalledTimes(1);
      expect((await s.get(created.id))!.lastUsedAt!.getTime()).toBe(T0);
      await s.touch(created.id, T0 + MIN);
      expect(update).toHaveBeenCalledTimes(2);
      expect((await s.get(created.id))!.lastUsedAt!.getTime()).toBe(T0 + MIN);
    } finally {
      update.mockRestore();
    }
  });

  test("names, roles, tiers and expiries are checked before anything is stored", async () => {
    t = T0;
    const s = store();
    const bad = [
      { name: "", role: "viewer" },
      { name: "   ", role: "viewer" },
      { name: "x".repeat(101), role: "viewer" },
      { name: "a\u0000b", role: "viewer" },
      { name: "line\nbreak", role: "viewer" },
      { name: "esc\u001b[31m", role: "viewer" },
      { name: 42, role: "viewer" },
      { name: "a", role: "root" },
      { name: "a", role: "viewer", tier: "gold" },
      { name: "a", role: "viewer", expiresAt: new Date(T0 - 1) },
      { name: "a", role: "viewer", expiresAt: new Date(NaN) },
    ];
    for (const input of bad) expect(await refused(s.create(input as never))).toBe("invalid");
    expect(await s.list()).toEqual([]);
    // HTML is a name like any other: stored as typed, escaped where it is shown.
    const html = await s.create({ name: "<script>alert(1)</script>", role: "viewer" });
    expect((await s.get(html.id))!.name).toBe("<script>alert(1)</script>");
    expect((await s.create({ name: "x".repeat(100), role: "viewer" })).name.length).toBe(100);
  });
});

forEachDatabase("session store", (db) => {
  test("a session's id is the hash of its cookie, never the cookie", async () => {
    const tokens = new TokenStore(db, () => T0);
    const sessions = new SessionStore(db);
    const tok = await tokens.create({ name: "a", role: "viewer" });
    const s = await sessions.create(tok.id, T0, 10 * MIN);
    expect(s.cookie).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.expiresAt.getTime()).toBe(T0 + 10 * MIN);
    const rows = await db().rows<Record<string, unknown>>(sql`select * from sessions`);
    expect(rows.length).toBe(1);
    expect(rows[0]!.id).toBe(hashSecret(s.cookie));
    expect(JSON.stringify(rows)).not.toContain(s.cookie);
    const got = await sessions.get(s.cookie, T0 + 1);
    expect(got?.token.id).toBe(tok.id);
    expect(got?.session.csrf).toBe(s.csrf);
    expect(await sessions.get("A".repeat(43), T0)).toBeUndefined();
    expect(await sessions.get("short", T0)).toBeUndefined();
  });

  test("sessions expire, end, and die with their token", async () => {
    const tokens = new TokenStore(db, () => T0);
    const sessions = new SessionStore(db);
    const tok = await tokens.create({ name: "a", role: "operator" });
    const expiring = await sessions.create(tok.id, T0, MIN);
    expect(await sessions.get(expiring.cookie, T0 + MIN)).toBeUndefined();
    expect((await db().rows(sql`select id from sessions`)).length).toBe(0); // deleted when found dead

    const ended = await sessions.create(tok.id, T0, MIN);
    expect(await sessions.end(ended.cookie)).toBe(true);
    expect(await sessions.get(ended.cookie, T0)).toBeUndefined();
    expect(await sessions.end(ended.cookie)).toBe(false);

    const a = await sessions.create(tok.id, T0, MIN);
    const b = await sessions.create(tok.id, T0, MIN);
    await tokens.revoke(tok.id);
    expect(await sessions.get(a.cookie, T0)).toBeUndefined();
    expect(await sessions.get(b.cookie, T0)).toBeUndefined();
    expect((await db().rows(sql`select id from sessions`)).length).toBe(0);

    const short = await tokens.create({ name: "b", role: "viewer", expiresAt: new Date(T0 + MIN) });
    const c = await sessions.create(short.id, T0, 10 * MIN);
    expect(await sessions.get(c.cookie, T0 + MIN)).toBeUndefined();

    const d = await tokens.create({ name: "c", role: "viewer" });
    await sessions.create(d.id, T0, MIN);
    await sessions.create(d.id, T0, MIN);
    expect(await sessions.endForToken(d.id)).toBe(2);
  });

  test("a token deleted from the table takes its sessions with it", async () => {
    const tokens = new TokenStore(db, () => T0);
    const sessions = new SessionStore(db);
    const tok = await tokens.create({ name: "a", role: "viewer" });
    await sessions.create(tok.id, T0, MIN);
    await db().rows(sql`delete from tokens where id = ${tok.id}`);
    expect((await db().rows(sql`select id from sessions`)).length).toBe(0);
  });
});
