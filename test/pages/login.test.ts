// Signing in and out from a browser, server side (access.md "Presenting an identity"): the login
// form, good/bad/revoked tokens, the session cookie's flags, next= kept on this site, logout
// ending the session, the header naming who is signed in (escaped), controls hidden by role and
// refused anyway, and every changing form carrying the session's CSRF token.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OPEN_IDENTITY, SESSION_COOKIE, type Identity } from "../../src/access";
import type { Database } from "../../src/db/database";
import type { RunningServer } from "../../src/server/lifecycle";
import { safeNext } from "../../src/http/routes/login-pages";
import { layout } from "../../views/layout";
import { html } from "../../views/html";
import { dashboardPage } from "../../views/pages/dashboard";
import { dataPage } from "../../views/pages/data";
import { jobPage } from "../../views/pages/job";
import { gridResults } from "../../views/pages/results";
import { databaseKinds, freshDatabase } from "../support/db";
import { startTestServer, stopTestServer } from "../support/server";

const EVIL_NAME = `<img src=x onerror=alert(1)>"&'`;
const session = (role: Identity["role"], name = "pat"): Identity => ({ kind: "session", tokenId: "t1", name, role, tier: "pro", sessionId: "s1", csrf: "CSRF-abc_123" });

describe("safeNext", () => {
  test("same-origin paths pass; anything that could leave the site becomes /", () => {
    for (const ok of ["/", "/jobs/abc?x=1", "/data?page=2#games", "/%2F%2Fevil.example"]) expect(safeNext(ok)).toBe(ok);
    for (const bad of ["//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/", "http:evil.example",
      "javascript:alert(1)", "evil.example", "", "/\tevil", "/\n/evil.example", " //evil.example", null, undefined, 42, "/" + "a".repeat(3000)]) {
      expect(safeNext(bad)).toBe("/");
    }
  });
});

describe("header and controls (views)", () => {
  const dash = (who: Identity | null) => String(dashboardPage("t", who, { jobs: [], health: { database: { kind: "pglite", healthy: true, state: "open" }, workers: { size: 1, busy: 0, healthy: true }, connections: 0 } }, { values: {}, errors: {} }));

  test("the header names the signed-in token, its role and tier, escaped; control characters show as text", () => {
    const s = String(layout({ title: "x", version: "t", identity: session("operator", `${EVIL_NAME}\u001b[2J\u2028x`) }, html``));
    expect(s).toContain("&lt;img src=x onerror=alert(1)&gt;&quot;&amp;&#39;\\u{1b}[2J\\u{2028}x");
    expect(s).not.toContain("<img");
    expect(s).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(s).toContain("operator</span>");
    expect(s).toContain("pro</span>");
    expect(s).toContain('<form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="CSRF-abc_123"><button type="submit">Sign out</button></form>');
    // htmx sends the token as a header on every request from the page.
    expect(s).toContain(`<body hx-headers:inherited="{&quot;x-csrf-token&quot;:&quot;CSRF-abc_123&quot;}">`);
  });

  test("auth off says so; nobody signed in offers the sign-in link", () => {
    expect(String(layout({ title: "x", version: "t", identity: OPEN_IDENTITY }, html``))).toContain("auth off: everyone is admin");
    const none = String(layout({ title: "x", version: "t", identity: null }, html``));
    expect(none).toContain('<a href="/login">Sign in</a>');
    expect(none).not.toContain("hx-headers");
  });

  test("the pages run no inline script, handler or style (the CSP allows only the server's files)", () => {
    for (const s of [dash(session("admin")), dash(OPEN_IDENTITY), dash(null)]) {
      expect(s).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(s).not.toMatch(/\son[a-z]+=/i);
      expect(s).not.toMatch(/\sstyle=/i);
      expect(s).not.toContain("data:");
      expect(s).not.toMatch(/hx-trigger="[^"]*\[/); // a trigger filter is evaluated with Function
    }
  });

  test("a viewer sees no grid search form, cancel, import, demo or simulate control", () => {
    const viewer = session("viewer");
    const games = { games: [], total: 0, page: 1, perPage: 50 };
    const status = { is_running: false, message: "idle" };
    const running = { id: "job-1", status: "running", current: 1, total: 10, current_combo: "" };
    const pair = { entry: 0.1, exit: 0, train: { pnl: 1, trades: 1, wins: 1 }, valid: { pnl: 1, trades: 1, wins: 1 }, test: { pnl: 1, trades: 1, wins: 1 } };
    const pages = (who: Identity) => ({
      dashboard: dash(who),
      data: String(dataPage("t", who, games, status)),
      job: String(jobPage("t", who, { live: running, kind: "grid_search", params: {}, games: 3, createdAt: new Date(0), canCancel: who.role !== "viewer" })),
      results: String(gridResults({ id: "job-1", games: 3, pairs: [pair], finalSelection: pair, fee: 0, viewer: who })),
    });
    const v = pages(viewer);
    expect(v.dashboard).not.toContain('action="/grid-search"');
    expect(v.dashboard).not.toContain('href="/grid-search/new"');
    expect(v.dashboard).toContain("needs the operator role");
    expect(v.data).not.toContain('action="/data/import');
    expect(v.data).not.toContain("Load demo data");
    expect(v.job).not.toContain("Cancel job");
    expect(v.results).not.toContain("Simulate this pair");
    const o = pages(session("operator"));
    expect(o.dashboard).toContain('action="/grid-search"');
    expect(o.data).toContain('action="/data/import?_csrf=CSRF-abc_123"');
    expect(o.data).toContain("Load demo data");
    expect(o.job).toContain("Cancel job");
    expect(o.results).toContain("Simulate this pair");
  });

  test("every form that changes something carries the session's _csrf", () => {
    const who = session("admin");
    const games = { games: [], total: 0, page: 1, perPage: 50 };
    const running = { id: "job-1", status: "running", current: 1, total: 10, current_combo: "" };
    const pair = { entry: 0.1, exit: 0, train: { pnl: 1, trades: 1, wins: 1 }, valid: { pnl: 1, trades: 1, wins: 1 }, test: { pnl: 1, trades: 1, wins: 1 } };
    const all = [
      dash(who),
      String(dataPage("t", who, games, { is_running: false, message: "idle" })),
      String(jobPage("t", who, { live: running, kind: "grid_search", params: {}, games: 3, createdAt: new Date(0), canCancel: true })),
      String(gridResults({ id: "job-1", games: 3, pairs: [pair], finalSelection: pair, fee: 0, viewer: who })),
    ].join("\n");
    const forms = [...all.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/g)].map((m) => m[0]);
    const posting = forms.filter((f) => /method="post"/.test(f));
    // grid search, logout (x4 pages), import, demo, cancel, simulate
    expect(posting.length).toBeGreaterThanOrEqual(8);
    for (const f of posting) {
      const multipart = f.includes('enctype="multipart/form-data"');
      if (multipart) expect(f).toMatch(/action="[^"]*\?_csrf=CSRF-abc_123"/);
      else expect(f).toContain('<input type="hidden" name="_csrf" value="CSRF-abc_123">');
    }
  });
});

for (const kind of databaseKinds()) describe(`login and sessions [${kind}]`, () => {
  let server: RunningServer;
  let db: Database;
  let admin: { id: string; token: string };
  let viewer: { id: string; token: string };
  let operator: { id: string; token: string };
  beforeAll(async () => {
    db = await freshDatabase(kind);
    server = await startTestServer({ database: db, flags: ["--auth", "on", "--rate-login-per-min", "1000", "--rate-imports-per-min", "1000"] });
    const make = async (name: string, role: string, tier?: string) => {
      const t = await server.access.tokens.create({ name, role, tier });
      return { id: t.id, token: t.token };
    };
    admin = await make("root", "admin", "pro");
    viewer = await make(EVIL_NAME, "viewer");
    operator = await make("op", "operator");
  });
  afterAll(async () => {
    await stopTestServer(server);
    await db.close();
  });

  const origin = () => server.url;
  /** A form post as the browser sends it from this server's own page. */
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${origin()}${path}`, { method: "POST", body, redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: origin(), ...headers } });
  const get = (path: string, cookie?: string) => fetch(`${origin()}${path}`, { redirect: "manual", headers: cookie ? { cookie } : {} });
  const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

  /** Signs in with a token; the cookie pair to send back and the Set-Cookie line. */
  async function login(token: string, next?: string) {
    const res = await post("/login", form({ token, ...(next !== undefined ? { next } : {}) }));
    const setCookie = res.headers.get("set-cookie") ?? "";
    return { res, setCookie, cookie: setCookie.split(";")[0]! };
  }
  /** The CSRF token of the session a cookie names, as the page hands it to the browser. */
  async function csrfOf(cookie: string): Promise<string> {
    const page = await (await get("/", cookie)).text();
    const m = /name="_csrf" value="([^"]+)"/.exec(page);
    if (!m) throw new Error("no _csrf field on the dashboard");
    return m[1]!;
  }

  test("GET /login shows the token form without an identity; other pages send the browser there", async () => {
    const res = await get("/login?next=%2Fdata");
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<form method="post" action="/login">');
    expect(page).toContain('<input type="hidden" name="next" value="/data">');
    expect(page).toContain('<script src="/static/login.js" defer></script>');
    expect(res.headers.get("cache-control")).toBe("no-store");
    const dash = await get("/data");
    expect(dash.status).toBe(303);
    expect(dash.headers.get("location")).toBe("/login?next=%2Fdata");
    expect((await get("/static/login.js")).status).toBe(200);
  });

  test("a good token signs in: HttpOnly, SameSite=Lax, Path=/ cookie, 303 to next; the dashboard then answers", async () => {
    const { res, setCookie, cookie } = await login(admin.token, "/data?page=1");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/data?page=1");
    expect(setCookie).toStartWith(`${SESSION_COOKIE}=`);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Lax");
    expect(setCookie).toContain("Path=/");
    expect(setCookie).toMatch(/Max-Age=\d+/);
    expect(setCookie).not.toContain("Secure"); // plain http on loopback
    expect(setCookie).not.toContain(admin.token);
    const page = await get("/", cookie);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("root");
    expect(html).toContain("admin</span>");
    expect(html).toContain("pro</span>");
    expect(html).toContain('action="/logout"');
  });

  test("over https (a proxy's X-Forwarded-Proto) the cookie is Secure", async () => {
    const { setCookie } = await (async () => {
      const res = await post("/login", form({ token: admin.token }), { "x-forwarded-proto": "https" });
      return { setCookie: res.headers.get("set-cookie") ?? "" };
    })();
    expect(setCookie).toContain("; Secure");
  });

  test("a bad, malformed or revoked token: 401 with the form again and no cookie", async () => {
    const revoked = await server.access.tokens.create({ name: "gone", role: "admin" });
    await server.access.tokens.revoke(revoked.id);
    for (const token of ["gct_" + "A".repeat(43), "nonsense", "", revoked.token, `${admin.token}x`]) {
      const { res, setCookie } = await login(token, "/ops");
      expect(res.status).toBe(401);
      expect(setCookie).toBe("");
      const page = await res.text();
      expect(page).toContain("That token was not accepted");
      expect(page).toContain('<input type="hidden" name="next" value="/ops">');
      expect(page).not.toContain(token || "\u0000");
    }
    expect((await fetch(`${origin()}/health`)).status).toBeLessThan(600);
  });

  test("next= attempts to leave the site are refused: the redirect stays on /", async () => {
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "http:%2F%2Fevil.example"]) {
      const { res } = await login(operator.token, next);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/");
    }
  });

  test("logout ends the session: the cookie is cleared and no longer works", async () => {
    const { cookie } = await login(operator.token);
    const csrf = await csrfOf(cookie);
    // Without the CSRF token the logout is a cross-site request and refused.
    expect((await post("/logout", "", { cookie })).status).toBe(403);
    const out = await post("/logout", form({ _csrf: csrf }), { cookie });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/login");
    expect(out.headers.get("set-cookie")).toMatch(new RegExp(`^${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`));
    const after = await get("/", cookie);
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toStartWith("/login");
  });

  test("revoking the token ends the sessions made from it", async () => {
    const t = await server.access.tokens.create({ name: "short", role: "viewer" });
    const { cookie } = await login(t.token);
    expect((await get("/", cookie)).status).toBe(200);
    await server.access.tokens.revoke(t.id);
    expect((await get("/", cookie)).status).toBe(303);
  });

  test("a viewer's pages hold no changing controls, the header names them escaped, and the server refuses the posts anyway", async () => {
    const { cookie } = await login(viewer.token);
    const dash = await (await get("/", cookie)).text();
    expect(dash).toContain("&lt;img src=x onerror=alert(1)&gt;&quot;&amp;&#39;");
    expect(dash).not.toContain("<img src=x");
    expect(dash).toContain("viewer</span>");
    expect(dash).toContain("starter</span>");
    expect(dash).not.toContain('action="/grid-search"');
    const data = await (await get("/data", cookie)).text();
    expect(data).not.toContain('action="/data/import');
    expect(data).not.toContain("Load demo data");
    const csrf = await csrfOf(cookie);
    const grid = form({ _csrf: csrf, entry_start: "0.01", entry_stop: "0.1", entry_step: "0.01", exit_start: "0", exit_stop: "0.05", exit_step: "0.01" });
    for (const [path, body] of [["/grid-search", grid], ["/data/demo", form({ _csrf: csrf })], ["/simulation", form({ _csrf: csrf, entry: "0.1", exit: "0" })]] as const) {
      const res = await post(path, body, { cookie });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("requires role operator");
    }
    const imp = await fetch(`${origin()}/data/import?_csrf=${encodeURIComponent(csrf)}`, { method: "POST", redirect: "manual", headers: { cookie, origin: origin(), "content-type": "multipart/form-data; boundary=x" }, body: "--x--\r\n" });
    expect(imp.status).toBe(403);
    expect((await get("/api/games", undefined)).status).toBe(401);
    expect((await fetch(`${origin()}/api/jobs`)).status).toBe(401);
  });

  test("an operator's form posts need the session's CSRF token: without it 403, with it the change goes through", async () => {
    const { cookie } = await login(operator.token);
    const csrf = await csrfOf(cookie);
    const page = await (await get("/data", cookie)).text();
    expect(page).toContain(`action="/data/import?_csrf=${csrf}"`);
    const none = await post("/data/demo", "", { cookie });
    expect(none.status).toBe(403);
    expect(await none.text()).toContain("cross-site request refused");
    const wrong = await post("/data/demo", form({ _csrf: "x".repeat(43) }), { cookie });
    expect(wrong.status).toBe(403);
    const ok = await post("/data/demo", form({ _csrf: csrf }), { cookie });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/data");
    // The header works as well as the field (what htmx sends).
    const byHeader = await post("/grid-search/preview", form({ entry_start: "0.01", entry_stop: "0.1", entry_step: "0.01", exit_start: "0", exit_stop: "0.05", exit_step: "0.01" }), { cookie, "x-csrf-token": csrf });
    expect(byHeader.status).toBe(200);
    expect(await byHeader.text()).toContain("pairs");
  });
});
