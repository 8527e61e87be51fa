// Ownership (access.md): a job records the token that started it (created_by, its name; null with
// auth off); an operator cancels only their own jobs, over the API and the page alike, an admin any.
import { afterEach, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { jobs } from "../../src/db/schema";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";

// ~5,000 pairs over 400 demo games: seconds of work on one worker, so jobs stay active while the test runs.
const BIG = { entry_start: 0.005, entry_stop: 0.5, entry_step: 0.005, exit_start: 0, exit_stop: 0.495, exit_step: 0.005 };
const FLAGS = ["--workers", "1", "--max-running-jobs", "1", "--max-pairs", "10000"];

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) await stopTestServer(server);
  server = undefined;
});

function client(s: RunningServer, headers: Record<string, string>) {
  const call = (method: string, path: string, init: { body?: string; type?: string; extra?: Record<string, string> } = {}) =>
    fetch(`${s.url}${path}`, {
      method, redirect: "manual", body: init.body,
      headers: { ...headers, ...(init.type ? { "content-type": init.type } : {}), ...init.extra },
    });
  return {
    call,
    async run(grid = BIG): Promise<string> {
      const res = await call("POST", "/api/grid-search/run", { body: JSON.stringify(grid), type: "application/json" });
      expect(res.status).toBe(200);
      return (await res.json()).request_id;
    },
    cancel: (id: string) => call("POST", `/api/jobs/${id}/cancel`),
    async status(id: string): Promise<string> {
      return (await (await call("GET", `/api/grid-search/progress/${id}`)).json()).status;
    },
  };
}

const isActive = (status: string) => status === "queued" || status === "running";

forEachDatabase("job ownership with auth on", (db) => {
  test("an operator cannot cancel another's job (it keeps going), can cancel their own; an admin can cancel any", async () => {
    server = await startAuthServer({ database: db(), flags: FLAGS });
    const admin = client(server, { authorization: (await makeToken(server, "admin", { name: "root" })).bearer });
    const tokA = await makeToken(server, "operator", { name: "alice" });
    const a = client(server, { authorization: tokA.bearer });
    const b = client(server, { authorization: (await makeToken(server, "operator", { name: "bob" })).bearer });
    expect((await admin.call("POST", "/api/games/demo?games=400&seed=3")).status).toBe(200);

    const jobA = await a.run();
    const jobB = await b.run(); // queued behind A's: one runs at a time
    const jobB2 = await b.run();

    const refused = await a.cancel(jobB);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ detail: "requires role admin" });
    expect(isActive(await a.status(jobB))).toBe(true);

    // The page's cancel button follows the same rule, for a session made from A's token.
    const login = await server.access.login(tokA.token);
    const page = client(server, { cookie: `gridcast_session=${login.cookie}` });
    const pageRefused = await page.call("POST", `/jobs/${jobB}/cancel`, {
      body: `_csrf=${encodeURIComponent(login.csrf)}`, type: "application/x-www-form-urlencoded",
    });
    expect(pageRefused.status).toBe(403);
    expect(await pageRefused.text()).toContain("requires role admin");
    expect(isActive(await a.status(jobB))).toBe(true);

    const own = await a.cancel(jobA);
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual({ request_id: jobA, status: "cancelled" });

    const byAdmin = await admin.cancel(jobB);
    expect(byAdmin.status).toBe(200);
    expect(await byAdmin.json()).toEqual({ request_id: jobB, status: "cancelled" });
    // B's own page cancel of B's other job goes through.
    expect((await b.cancel(jobB2)).status).toBe(200);
    expect(await b.status(jobB2)).toBe("cancelled");
    expect((await server.access.tokens.get(tokA.id))?.revokedAt).toBeNull(); // nothing else changed

    const list = (await (await a.call("GET", "/api/jobs")).json()).jobs as { request_id: string; created_by: string | null }[];
    expect(Object.fromEntries(list.map((j) => [j.request_id, j.created_by]))).toEqual({ [jobA]: "alice", [jobB]: "bob", [jobB2]: "bob" });
    const [row] = await db().db.select().from(jobs).where(eq(jobs.id, jobA));
    expect(row).toMatchObject({ createdBy: "alice", createdByToken: tokA.id });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  test("the page forms record who started a job", async () => {
    server = await startAuthServer({ database: db(), flags: FLAGS });
    const op = await makeToken(server, "operator", { name: `<i>pat</i> "o'neil"` });
    const admin = client(server, { authorization: (await makeToken(server, "admin")).bearer });
    expect((await admin.call("POST", "/api/games/demo?games=5&seed=1")).status).toBe(200);
    const login = await server.access.login(op.token);
    const page = client(server, { cookie: `gridcast_session=${login.cookie}` });
    const form = { type: "application/x-www-form-urlencoded" };
    const csrf = `_csrf=${encodeURIComponent(login.csrf)}`;
    const grid = await page.call("POST", "/grid-search", { ...form, body: `${csrf}&entry_start=0.01&entry_stop=0.05&entry_step=0.01&exit_start=0&exit_stop=0.02&exit_step=0.01` });
    expect(grid.status).toBe(303);
    const sim = await page.call("POST", "/simulation", { ...form, body: `${csrf}&entry=0.05&exit=0.01` });
    expect(sim.status).toBe(303);
    const ids = [grid, sim].map((r) => r.headers.get("location")!.split("/").pop());
    const list = (await (await admin.call("GET", "/api/jobs")).json()).jobs as { request_id: string; created_by: string | null }[];
    for (const id of ids) expect(list.find((j) => j.request_id === id)?.created_by).toBe(`<i>pat</i> "o'neil"`);
  });
});

forEachDatabase("job ownership with auth off", (db) => {
  test("jobs record no creator, and anyone (admin) cancels any", async () => {
    server = await startTestServer({ database: db(), flags: FLAGS });
    const anyone = client(server, {});
    expect((await anyone.call("POST", "/api/games/demo?games=400&seed=3")).status).toBe(200);
    const id = await anyone.run();
    const list = (await (await anyone.call("GET", "/api/jobs")).json()).jobs;
    expect(list[0]).toMatchObject({ request_id: id, created_by: null });
    const [row] = await db().db.select().from(jobs).where(eq(jobs.id, id));
    expect(row).toMatchObject({ createdBy: null, createdByToken: null });
    const res = await anyone.cancel(id);
    expect(res.status).toBe(200);
    await eventually(async () => (await anyone.status(id)) === "cancelled");
  });

  test("a job started while auth was off has no owner: with auth on only an admin cancels it", async () => {
    server = await startTestServer({ database: db(), flags: FLAGS });
    const open = client(server, {});
    expect((await open.call("POST", "/api/games/demo?games=400&seed=3")).status).toBe(200);
    const blocker = await open.run();
    const id = await open.run(); // stays queued behind the first
    await stopTestServer(server); // both stay in the store, queued or running, for the next start
    server = await startAuthServer({ database: db(), flags: FLAGS });
    const op = client(server, { authorization: (await makeToken(server, "operator")).bearer });
    const admin = client(server, { authorization: (await makeToken(server, "admin")).bearer });
    expect(isActive(await op.status(id))).toBe(true);
    const refused = await op.cancel(id);
    expect(refused.status).toBe(403);
    expect(isActive(await op.status(id))).toBe(true);
    for (const j of [id, blocker]) expect((await admin.cancel(j)).status).toBe(200);
  });
});
