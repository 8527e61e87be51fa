// The guard every request passes (access.md): the Host rule (421), the cross-site rule and the
// session's CSRF token (403), bad or missing identities (401 or the way to /login), rate limits
// (429 with Retry-After), and the security headers on every response. Every refusal leaves the
// server answering and the store as it was.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { count } from "drizzle-orm";
import { hostName, isLoopback } from "../../src/access/guard";
import { RateLimiter } from "../../src/access/rate-limit";
import { games, jobs, tokens } from "../../src/db/schema";
import { DomainError } from "../../src/errors";
import type { RunningServer } from "../../src/server/lifecycle";
import { FakeClock } from "../realtime/fakes";
import { launchDaemon } from "../support/daemon";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { makeSession, makeToken, rawRequest, startAuthServer, startTestServer, stopTestServer, upgradeStatus } from "../support/server";

const FORM = "application/x-www-form-urlencoded";

async function json(res: Response): Promise<unknown> {
  return JSON.parse(await res.text());
}

/** Games, jobs and tokens stored: what a refusal must leave as it was. */
async function storeCounts(server: RunningServer) {
  const db = server.database.get().db;
  const n = async (table: typeof games | typeof jobs | typeof tokens) => (await db.select({ n: count() }).from(table))[0]!.n;
  return { games: await n(games), jobs: await n(jobs), tokens: await n(tokens) };
}

/** Runs the refusals, then checks the server still answers and nothing was stored. */
async function leavesNoTrace(server: RunningServer, refusals: () => Promise<void>): Promise<void> {
  const before = await storeCounts(server);
  await refusals();
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
  expect(await storeCounts(server)).toEqual(before);
}

describe("host names", () => {
  test("canonical names: port and brackets gone, IPv4 spelled out; junk is no host", () => {
    expect(hostName("LocalHost:3000")).toBe("localhost");
    expect(hostName("[::1]:3000")).toBe("[::1]");
    expect(hostName("127.1")).toBe("127.0.0.1");
    expect(hostName("127.0.0.1.evil.example")).toBe("127.0.0.1.evil.example");
    expect(hostName("evil.example@127.0.0.1")).toBeNull();
    expect(hostName("")).toBeNull();
    expect(hostName(null)).toBeNull();
  });

  test("loopback is localhost, 127.0.0.0/8 and ::1, nothing that merely starts like them", () => {
    for (const h of ["localhost", "127.0.0.1", "127.255.0.9", "[::1]", "[::ffff:7f00:1]"]) expect([h, isLoopback(h)]).toEqual([h, true]);
    for (const h of ["127.0.0.1.evil.example", "localhost.evil.example", "evil.example", "[::2]", "128.0.0.1", "0.0.0.0"]) expect([h, isLoopback(h)]).toEqual([h, false]);
  });
});

describe("rate limiter", () => {
  test("a bucket of perMinute requests refills evenly; the wait is whole seconds until the next one", () => {
    let t = 0;
    const limiter = new RateLimiter({ perMinute: 10, now: () => t });
    for (let i = 0; i < 10; i++) expect(limiter.tryTake("a")).toBe(0);
    expect(limiter.tryTake("a")).toBe(6); // one request every 6 s
    expect(limiter.tryTake("b")).toBe(0); // another key has its own bucket
    t += 6_000;
    expect(limiter.tryTake("a")).toBe(0);
    expect(limiter.tryTake("a")).toBe(6);
    try {
      limiter.take("a");
      throw new Error("not limited");
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe("rate_limited");
      expect((err as DomainError).extra).toEqual({ retry_after: 6 });
    }
  });

  test("100k distinct addresses keep the map at its capacity, and a client in use is not the one forgotten", () => {
    let t = 0;
    const limiter = new RateLimiter({ perMinute: 2, now: () => t, capacity: 10_000 });
    limiter.tryTake("victim");
    limiter.tryTake("victim");
    for (let i = 0; i < 100_000; i++) {
      limiter.tryTake(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      if (i % 5_000 === 0) {
        expect(limiter.tryTake("victim")).toBeGreaterThan(0); // still limited: recently used, so kept
        expect(limiter.size).toBeLessThanOrEqual(10_000);
      }
      t += 0.001;
    }
    expect(limiter.size).toBe(10_000);
  });
});

forEachDatabase("guard", (db) => {
  let server: RunningServer;
  afterEach(() => stopTestServer(server));

  test("a Host that is not loopback, the listen address or allowed is 421, on the API, a page and a socket", async () => {
    server = await startAuthServer({ database: db(), config: { allowedHosts: ["gridcast.lan"] } });
    const { bearer } = await makeToken(server, "admin");
    await leavesNoTrace(server, async () => {
      for (const host of ["evil.example", "127.0.0.1.evil.example", `evil.example:${server.port}`, "localhost.evil.example", ""]) {
        const api = await rawRequest(server.port, "/api/jobs", "GET", { host, authorization: bearer });
        expect([host, api.status]).toEqual([host, 421]);
        expect((JSON.parse(api.body) as { detail: string }).detail).toContain("does not answer to host");
        expect([host, (await rawRequest(server.port, "/health", "GET", { host })).status]).toEqual([host, 421]);
        expect([host, (await rawRequest(server.port, "/", "GET", { host, authorization: bearer })).status]).toEqual([host, 421]);
        expect([host, (await rawRequest(server.port, "/api/games/demo?games=1", "POST", { host, authorization: bearer })).status]).toEqual([host, 421]);
        expect([host, await upgradeStatus(server.port, "/ws", { host, authorization: bearer })]).toEqual([host, 421]);
      }
    });
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, "127.9.9.9", `[::1]:${server.port}`, "gridcast.lan:8080", "GRIDCAST.LAN"]) {
      expect([host, (await rawRequest(server.port, "/api/jobs", "GET", { host, authorization: bearer })).status]).toEqual([host, 200]);
    }
  });

  test("a change from another site is refused in every mode: Origin null, a foreign Origin with a valid cookie and token, a foreign Referer", async () => {
    server = await startAuthServer({ database: db(), config: { allowedOrigins: ["https://ops.example"] } });
    const s = await makeSession(server, "operator");
    const post = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/games/demo?games=1`, { method: "POST", headers: { cookie: s.cookie, "x-csrf-token": s.csrf, ...headers } });
    await leavesNoTrace(server, async () => {
      for (const headers of <Record<string, string>[]>[{ origin: "null" }, { origin: "http://evil.example" }, { origin: `http://127.0.0.1:${server.port + 1}` }, { referer: "http://evil.example/page" }, { origin: "https://ops.example.evil" }]) {
        const res = await post(headers);
        expect([headers, res.status]).toEqual([headers, 403]);
        expect(await json(res)).toEqual({ detail: "cross-site request refused" });
      }
      // A form posted from another site, the classic attack: no CSRF token, a foreign Origin.
      const form = await fetch(`${server.url}/data/demo`, { method: "POST", headers: { cookie: s.cookie, origin: "http://evil.example", "content-type": FORM }, body: "", redirect: "manual" });
      expect(form.status).toBe(403);
    });
    expect((await post({ origin: server.url })).status).toBe(200);
    expect((await post({ referer: `${server.url}/data` })).status).toBe(200);
    expect((await post({ origin: "https://ops.example" })).status).toBe(200);
    await stopTestServer(server);

    // Auth off: every request is admin, and the rule still holds.
    server = await startTestServer({ database: db() });
    await leavesNoTrace(server, async () => {
      const res = await fetch(`${server.url}/api/games/demo?games=1`, { method: "POST", headers: { origin: "http://evil.example" } });
      expect(res.status).toBe(403);
      expect(await json(res)).toEqual({ detail: "cross-site request refused" });
      expect((await fetch(`${server.url}/data/demo`, { method: "POST", headers: { origin: "null" }, redirect: "manual" })).status).toBe(403);
    });
    expect((await fetch(`${server.url}/api/games/demo?games=1`, { method: "POST", headers: { origin: server.url } })).status).toBe(200);
  });

  test("a session's change without its CSRF token, or with a wrong one, is 403; header, form field and multipart query are accepted", async () => {
    server = await startAuthServer({ database: db() });
    const s = await makeSession(server, "operator");
    const other = await makeSession(server, "operator");
    await leavesNoTrace(server, async () => {
      for (const csrf of [undefined, "", "x", other.csrf, s.csrf.slice(0, -1), `${s.csrf}x`]) {
        const headers: Record<string, string> = { cookie: s.cookie };
        if (csrf !== undefined) headers["x-csrf-token"] = csrf;
        const res = await fetch(`${server.url}/api/games/demo?games=1`, { method: "POST", headers });
        expect([csrf, res.status]).toEqual([csrf, 403]);
        expect(await json(res)).toEqual({ detail: "cross-site request refused" });
        const form = await fetch(`${server.url}/data/demo`, { method: "POST", headers: { cookie: s.cookie, "content-type": FORM }, body: csrf === undefined ? "" : `_csrf=${encodeURIComponent(csrf)}`, redirect: "manual" });
        expect([csrf, form.status]).toEqual([csrf, 403]);
      }
      const upload = new FormData();
      upload.append("file", new Blob(["game_id,t,price,fair,outcome\ng1,0,0.5,0.5,1\n"]), "g.csv");
      expect((await fetch(`${server.url}/data/import?_csrf=${encodeURIComponent(other.csrf)}`, { method: "POST", headers: { cookie: s.cookie }, body: upload, redirect: "manual" })).status).toBe(403);
      expect((await fetch(`${server.url}/data/import`, { method: "POST", headers: { cookie: s.cookie }, body: upload, redirect: "manual" })).status).toBe(403);
    });
    expect((await fetch(`${server.url}/api/games/demo?games=1`, { method: "POST", headers: { cookie: s.cookie, "x-csrf-token": s.csrf } })).status).toBe(200);
    const form = await fetch(`${server.url}/data/demo`, { method: "POST", headers: { cookie: s.cookie, "content-type": FORM }, body: `_csrf=${encodeURIComponent(s.csrf)}`, redirect: "manual" });
    expect(form.status).toBe(303);
    const upload = new FormData();
    upload.append("file", new Blob(["game_id,t,price,fair,outcome\nup-1,0,0.5,0.5,1\n"]), "g.csv");
    const imported = await fetch(`${server.url}/data/import?_csrf=${encodeURIComponent(s.csrf)}`, { method: "POST", headers: { cookie: s.cookie }, body: upload, redirect: "manual" });
    expect(imported.status).toBe(303);
    // A bearer token is not a cookie: a script's change needs no CSRF token.
    const { bearer } = await makeToken(server, "operator", { name: "script" });
    expect((await fetch(`${server.url}/api/games/demo?games=1`, { method: "POST", headers: { authorization: bearer } })).status).toBe(200);
  });

  test("malformed, truncated, wrongly prefixed or sized, revoked and expired bearer tokens, and a token in the query, are 401", async () => {
    const clock = new FakeClock();
    clock.t = Date.now();
    server = await startAuthServer({ database: db(), clock });
    const good = await makeToken(server, "admin", { name: "good" });
    const revoked = await makeToken(server, "admin", { name: "revoked" });
    const expiring = await makeToken(server, "admin", { name: "expiring", expiresAt: new Date(clock.now() + 60_000) });
    expect((await fetch(`${server.url}/api/jobs`, { headers: { authorization: expiring.bearer } })).status).toBe(200);
    await server.access.tokens.revoke(revoked.id);
    clock.advance(61_000);
    const secret = good.token;
    const refused = async (authorization: string | undefined, path = "/api/jobs") => {
      const res = await fetch(`${server.url}${path}`, { headers: authorization === undefined ? {} : { authorization } });
      expect([authorization, res.status]).toEqual([authorization, 401]);
      expect(await json(res)).toEqual({ detail: "authentication required" });
    };
    await leavesNoTrace(server, async () => {
      for (const h of ["", "Bearer", "Bearer ", "Bearer  ", `Bearer ${secret.slice(0, 20)}`, `Bearer ${secret.slice(0, -1)}`, `Bearer ${secret}x`,
        `Bearer gcx_${secret.slice(4)}`, `Bearer ${secret.slice(4)}`, `Basic ${btoa(`u:${secret}`)}`, `${secret}`, `Bearer ${secret} ${secret}`,
        `Bearer gct_${"A".repeat(10)}`, `Bearer gct_${"A".repeat(4000)}`, revoked.bearer, expiring.bearer]) await refused(h);
      await refused(undefined, `/api/jobs?token=${secret}`);
      await refused(undefined, `/api/jobs?access_token=${secret}`);
      expect(await upgradeStatus(server.port, `/ws?token=${secret}`)).toBe(401);
      expect(await upgradeStatus(server.port, "/ws", { authorization: revoked.bearer })).toBe(401);
    });
    expect((await fetch(`${server.url}/api/jobs`, { headers: { authorization: good.bearer } })).status).toBe(200);
    expect((await fetch(`${server.url}/api/jobs`, { headers: { authorization: `bearer   ${secret}` } })).status).toBe(200);
  });

  test("forged and stale session cookies: 401 on the API and sockets, the way to /login on pages", async () => {
    server = await startAuthServer({ database: db() });
    const live = await makeSession(server, "operator");
    const ended = await makeSession(server, "operator");
    await fetch(`${server.url}/logout`, { method: "POST", headers: { cookie: ended.cookie, "x-csrf-token": ended.csrf }, redirect: "manual" });
    const ofRevoked = await makeSession(server, "operator");
    await server.access.tokens.revoke(ofRevoked.tokenId);
    const forged = [`gridcast_session=${"A".repeat(43)}`, "gridcast_session=", "gridcast_session=../../etc", `gridcast_session=${live.cookie.split("=")[1]!.slice(0, -1)}`, ended.cookie, ofRevoked.cookie];
    await leavesNoTrace(server, async () => {
      for (const cookie of forged) {
        const api = await fetch(`${server.url}/api/jobs`, { headers: { cookie } });
        expect([cookie, api.status]).toEqual([cookie, 401]);
        const page = await fetch(`${server.url}/data?page=2`, { headers: { cookie }, redirect: "manual" });
        expect([cookie, page.status, page.headers.get("location")]).toEqual([cookie, 303, `/login?next=${encodeURIComponent("/data?page=2")}`]);
        const htmx = await fetch(`${server.url}/data/games`, { headers: { cookie, "hx-request": "true", "hx-current-url": `${server.url}/data` } });
        expect([cookie, htmx.status, htmx.headers.get("hx-redirect")]).toEqual([cookie, 401, `/login?next=${encodeURIComponent("/data")}`]);
        expect([cookie, await upgradeStatus(server.port, "/ws/update/status", { cookie })]).toEqual([cookie, 401]);
        const post = await fetch(`${server.url}/api/games/demo?games=1`, { method: "POST", headers: { cookie, "x-csrf-token": live.csrf } });
        expect([cookie, post.status]).toEqual([cookie, 401]);
      }
      // A stale cookie on a public page is nobody, not an error.
      expect((await fetch(`${server.url}/login`, { headers: { cookie: ended.cookie } })).status).toBe(200);
    });
    expect((await fetch(`${server.url}/api/jobs`, { headers: { cookie: live.cookie } })).status).toBe(200);
    expect(await upgradeStatus(server.port, "/ws/update/status", { cookie: live.cookie })).toBe(101);
  });

  test("login, job and import floods are 429 with Retry-After, per client, and pass again after the window", async () => {
    const clock = new FakeClock();
    clock.t = Date.now();
    server = await startAuthServer({ database: db(), clock, config: { rateLoginPerMin: 10, rateJobsPerMin: 3, rateImportsPerMin: 2 } });
    const op = await makeToken(server, "operator", { name: "op" });
    const other = await makeToken(server, "operator", { name: "other" });
    const login = () => fetch(`${server.url}/login`, { method: "POST", headers: { "content-type": FORM }, body: "token=gct_wrong", redirect: "manual" });
    const job = (bearer: string) => fetch(`${server.url}/api/grid-search/run`, { method: "POST", headers: { authorization: bearer, "content-type": "application/json" }, body: "{}" });
    const page = (bearer: string) => fetch(`${server.url}/grid-search`, { method: "POST", headers: { authorization: bearer, "content-type": FORM }, body: "", redirect: "manual" });
    const update = (bearer: string) => fetch(`${server.url}/api/update`, { method: "POST", headers: { authorization: bearer } });
    const limited = async (res: Response) => {
      expect(res.status).toBe(429);
      if (!res.headers.get("content-type")?.includes("json")) {
        // A page (the login form) gets the error page; the header says when to come back.
        expect(await res.text()).toContain("rate limited");
        return Number(res.headers.get("retry-after"));
      }
      const body = (await json(res)) as { detail: string; retry_after: number };
      expect(body.detail).toBe("rate limited");
      expect(body.retry_after).toBeGreaterThanOrEqual(1);
      expect(res.headers.get("retry-after")).toBe(String(body.retry_after));
      return body.retry_after;
    };
    await leavesNoTrace(server, async () => {
      for (let i = 0; i < 10; i++) expect((await login()).status).toBe(401); // the login page's own refusal
      const wait = await limited(await login());
      expect(wait).toBe(6);
      expect((await job(op.bearer)).status).toBe(422);
      expect((await page(op.bearer)).status).toBe(422);
      expect((await job(op.bearer)).status).toBe(422);
      await limited(await job(op.bearer)); // the API and the page form draw on one bucket
      await limited(await page(op.bearer));
      expect((await job(other.bearer)).status).toBe(422); // another token has its own
      expect((await update(op.bearer)).status).toBe(200);
      expect((await update(op.bearer)).status).toBe(200);
      await limited(await update(op.bearer));
      clock.advance(wait * 1000);
      expect((await login()).status).toBe(401);
      await limited(await login());
    });
    clock.advance(60_000);
    expect((await job(op.bearer)).status).toBe(422);
    expect((await update(op.bearer)).status).toBe(200);
    const good = await fetch(`${server.url}/login`, { method: "POST", headers: { "content-type": FORM }, body: `token=${op.token}`, redirect: "manual" });
    expect(good.status).toBe(303);
  });

  test("security headers on a page, an API answer, errors, a redirect and a static asset", async () => {
    server = await startAuthServer({ database: db() });
    const { bearer } = await makeToken(server, "viewer");
    const responses: [string, { status: number; headers: Headers }][] = [
      ["page", await fetch(`${server.url}/data`, { headers: { authorization: bearer } })],
      ["api", await fetch(`${server.url}/api/jobs`, { headers: { authorization: bearer } })],
      ["404", await fetch(`${server.url}/api/no-such-thing`, { headers: { authorization: bearer } })],
      ["401", await fetch(`${server.url}/api/jobs`)],
      ["403", await fetch(`${server.url}/api/games/demo`, { method: "POST", headers: { authorization: bearer } })],
      ["303", await fetch(`${server.url}/`, { redirect: "manual" })],
      ["static", await fetch(`${server.url}/static/app.css`)],
      ["static js", await fetch(`${server.url}/static/htmx.min.js`)],
      ["health", await fetch(`${server.url}/health`)],
    ];
    for (const [what, res] of responses) {
      expect([what, res.headers.get("content-security-policy")]).toEqual([what, "default-src 'self'; frame-ancestors 'none'"]);
      expect([what, res.headers.get("x-content-type-options")]).toEqual([what, "nosniff"]);
      expect([what, res.headers.get("referrer-policy")]).toEqual([what, "same-origin"]);
    }
    const misdirected = await rawRequest(server.port, "/api/jobs", "GET", { host: "evil.example" });
    expect(misdirected.status).toBe(421);
    expect(misdirected.head).toContain("content-security-policy: default-src 'self'; frame-ancestors 'none'");
  });
});

describe("a daemon listening beyond loopback", () => {
  test("gridcast serve --host 0.0.0.0 on a new data dir never comes up open: anonymous GET /api/jobs is 401", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gridcast-open-"));
    const daemon = await launchDaemon(dataDir, ["--host", "0.0.0.0"]);
    try {
      const url = daemon.url.replace("0.0.0.0", "127.0.0.1");
      await eventually(async () => (await fetch(`${url}/health`)).status === 200, { timeoutMs: 30_000, what: "the daemon to be healthy" });
      const res = await fetch(`${url}/api/jobs`);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ detail: "authentication required" });
      expect((await fetch(`${url}/`, { redirect: "manual" })).status).toBe(303);
      expect(await upgradeStatus(Number(new URL(url).port), "/ws")).toBe(401);
    } finally {
      daemon.proc.kill("SIGTERM");
      await daemon.proc.exited;
    }
  }, 60_000);
});
