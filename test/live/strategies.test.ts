// Deployed strategies over the API (live.md "Strategies"): deploy with values or from a completed
// grid search, read with totals, stop; bad input is a clear 4xx and stores nothing; ownership of
// stop with auth on (an operator stops only their own, an admin any); a viewer cannot deploy.
import { afterEach, expect, test } from "bun:test";
import { count } from "drizzle-orm";
import { strategies } from "../../src/db/schema";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";

let server: RunningServer | undefined;
afterEach(async () => {
  if (server) await stopTestServer(server);
  server = undefined;
});

function client(s: RunningServer, headers: Record<string, string> = {}) {
  const call = (method: string, path: string, body?: unknown, type = "application/json") =>
    fetch(`${s.url}${path}`, {
      method, redirect: "manual", body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": type }) },
    });
  return {
    call,
    deploy: (body: unknown) => call("POST", "/api/strategies", body),
    finish: (kind: "grid-search" | "simulation", id: string) => eventually(async () => {
      const p = await (await call("GET", `/api/${kind}/progress/${id}`)).json();
      return ["complete", "error", "cancelled"].includes(p.status) && p;
    }, { timeoutMs: 20_000, intervalMs: 20, what: `${kind} ${id} to finish` }),
  };
}

const GRID = { entry_start: 0.02, entry_stop: 0.2, entry_step: 0.03, exit_start: 0, exit_stop: 0.1, exit_step: 0.02, fee: 0.004 };
// ~5,000 pairs over 400 demo games: seconds of work on one worker, so the job is still running while the test asks.
const BIG = { entry_start: 0.005, entry_stop: 0.5, entry_step: 0.005, exit_start: 0, exit_stop: 0.495, exit_step: 0.005 };

forEachDatabase("strategies API", (db) => {
  const stored = async () => Number((await db().db.select({ n: count() }).from(strategies))[0]!.n);

  test("deploy with values: 201 with the strategy, listed, read with zero totals; stop: stopped, a second stop 409", async () => {
    server = await startTestServer({ database: db() });
    const c = client(server);
    const res = await c.deploy({ name: "edge 5c", entry: 0.05, exit: 0.01, fee: 0.002 });
    expect(res.status).toBe(201);
    const s = await res.json();
    expect(s).toEqual({
      id: expect.any(Number), name: "edge 5c", entry: 0.05, exit: 0.01, fee: 0.002, status: "active",
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), created_by: null, stopped_at: null,
    });
    // fee may be left out: strategy.md's default 0.
    const noFee = await (await c.deploy({ name: "no fee", entry: 0.1, exit: 0 })).json();
    expect(noFee.fee).toBe(0);

    const list = await (await c.call("GET", "/api/strategies")).json();
    expect(list.strategies.map((x: { id: number }) => x.id)).toEqual([s.id, noFee.id]);
    const one = await (await c.call("GET", `/api/strategies/${s.id}`)).json();
    expect(one).toEqual({ ...s, pnl: 0, trades: 0, wins: 0, games: 0, open_positions: 0 });

    const stop = await c.call("POST", `/api/strategies/${s.id}/stop`);
    expect(stop.status).toBe(200);
    expect(await stop.json()).toMatchObject({ id: s.id, status: "stopped", stopped_at: expect.any(String) });
    const again = await c.call("POST", `/api/strategies/${s.id}/stop`);
    expect(again.status).toBe(409);
    expect((await again.json()).detail).toBe("the strategy is already stopped");
    expect((await (await c.call("GET", `/api/strategies/${noFee.id}`)).json()).status).toBe("active");
  });

  test("deploy from_job: the completed grid search's final selection and fee; a simulation, unknown or running job is refused", async () => {
    server = await startTestServer({ database: db(), flags: ["--workers", "1", "--max-running-jobs", "1", "--max-pairs", "10000"] });
    const c = client(server);
    expect((await c.call("POST", "/api/games/demo?games=40&seed=5")).status).toBe(200);
    const grid = (await (await c.call("POST", "/api/grid-search/run", GRID)).json()).request_id;
    expect((await c.finish("grid-search", grid)).status).toBe("complete");
    const results = await (await c.call("GET", `/api/grid-search/results/${grid}`)).json();
    expect(results.final_selection).not.toBeNull();

    const res = await c.deploy({ name: "from the grid", from_job: grid });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: "from the grid", entry: results.final_selection.entry, exit: results.final_selection.exit, fee: 0.004, status: "active" });

    const sim = (await (await c.call("POST", "/api/simulation/run", { entry: 0.05, exit: 0.01 })).json()).request_id;
    await c.finish("simulation", sim);
    const bySim = await c.deploy({ name: "x", from_job: sim });
    expect(bySim.status).toBe(409);
    expect((await bySim.json()).detail).toContain("simulation");

    const unknown = await c.deploy({ name: "x", from_job: "00000000-0000-4000-8000-000000000000" });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).detail).toContain("no job");
    const malformedId = await c.deploy({ name: "x", from_job: "../etc\u0000" });
    expect(malformedId.status).toBe(404);
    const notString = await c.deploy({ name: "x", from_job: 7 });
    expect(notString.status).toBe(422);
    const both = await c.deploy({ name: "x", from_job: grid, entry: 0.1, exit: 0 });
    expect(both.status).toBe(422);

    expect((await c.call("POST", "/api/games/demo?games=400&seed=3")).status).toBe(200);
    const big = (await (await c.call("POST", "/api/grid-search/run", BIG)).json()).request_id;
    const running = await c.deploy({ name: "x", from_job: big });
    expect(running.status).toBe(409);
    const detail = (await running.json()).detail;
    expect(detail).toMatch(/the grid search is (queued|running); deploy it once it is complete/);
    await c.call("POST", `/api/jobs/${big}/cancel`);
    expect(await stored()).toBe(1);
  });

  test("bad input is a 4xx naming the problem, nothing is stored, and the server still answers", async () => {
    server = await startTestServer({ database: db() });
    const c = client(server);
    const ok = { name: "s", entry: 0.05, exit: 0.01, fee: 0 };
    const cases: [unknown, number, string][] = [
      ["{not json", 400, "malformed request body"],
      ["[1,2]", 422, "body: must be a JSON object"],
      ["null", 422, "body: must be a JSON object"],
      [{ ...ok, entry: "abc" }, 422, "entry: must be a number"],
      [{ ...ok, entry: "NaN" }, 422, "entry: must be a number"],
      [`{"name":"s","entry":NaN,"exit":0}`, 400, "malformed"],
      [{ ...ok, entry: true }, 422, "entry: must be a number"],
      [{ ...ok, entry: 0 }, 422, "entry: must be > 0"],
      [{ ...ok, entry: 1.5 }, 422, "entry: must be within [0, 1]"],
      [{ ...ok, exit: 0.05 }, 422, "exit: must be < entry"],
      [{ ...ok, exit: 0.2 }, 422, "exit: must be < entry"],
      [{ ...ok, exit: -0.1 }, 422, "exit: must be within [0, 1]"],
      [{ ...ok, fee: 2 }, 422, "fee: must be <= 1"],
      [{ ...ok, fee: -1 }, 422, "fee: must be >= 0"],
      [{ name: "s", exit: 0 }, 422, "entry: is required"],
      [{ ...ok, name: undefined }, 422, "name: must be a string"],
      [{ ...ok, name: 42 }, 422, "name: must be a string"],
      [{ ...ok, name: "" }, 422, "name: must not be empty"],
      [{ ...ok, name: "x".repeat(101) }, 422, "name: must be at most 100 characters"],
      [{ ...ok, name: "a\u0000b" }, 422, "name: must not contain control characters"],
      [{ ...ok, name: "a\nb" }, 422, "name: must not contain control characters"],
      [{ ...ok, name: "\ud800x" }, 422, "lone surrogate"],
      [{ ...ok, name: "<script>alert(1)</script>" }, 422, "name: must not contain < or >"],
      [{ ...ok, name: " padded" }, 422, "whitespace"],
    ];
    for (const [body, status, detail] of cases) {
      const res = await c.deploy(body);
      expect({ body, status: res.status }).toEqual({ body, status });
      expect((await res.json()).detail).toContain(detail);
    }
    const wrongType = await c.call("POST", "/api/strategies", "name=s", "application/x-www-form-urlencoded");
    expect(wrongType.status).toBe(422);
    expect(await stored()).toBe(0);

    for (const id of ["999", "0", "abc", "1e3", "-1", "99999999999"]) {
      expect((await c.call("GET", `/api/strategies/${id}`)).status).toBe(404);
      expect((await c.call("POST", `/api/strategies/${id}/stop`)).status).toBe(404);
    }
    expect((await c.call("GET", "/health")).status).toBe(200);
    // A 100-character name of printable text (non-ASCII included) is fine.
    expect((await c.deploy({ ...ok, name: "é€ 😀 ".padEnd(99, "x") + "y" })).status).toBe(201);
  });
});

forEachDatabase("strategies with auth on", (db) => {
  test("created_by is the token's name; an operator cannot stop another's strategy, can stop their own; an admin any; a viewer cannot deploy", async () => {
    server = await startAuthServer({ database: db() });
    const alice = client(server, { authorization: (await makeToken(server, "operator", { name: "alice" })).bearer });
    const bob = client(server, { authorization: (await makeToken(server, "operator", { name: "bob" })).bearer });
    const admin = client(server, { authorization: (await makeToken(server, "admin", { name: "root" })).bearer });
    const viewer = client(server, { authorization: (await makeToken(server, "viewer", { name: "vic" })).bearer });

    const a = await (await alice.deploy({ name: "alice's", entry: 0.05, exit: 0.01 })).json();
    expect(a.created_by).toBe("alice");
    const a2 = await (await alice.deploy({ name: "alice's second", entry: 0.06, exit: 0.01 })).json();

    const refused = await bob.call("POST", `/api/strategies/${a.id}/stop`);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ detail: "requires role admin" });
    expect((await (await viewer.call("GET", `/api/strategies/${a.id}`)).json()).status).toBe("active");

    expect((await alice.call("POST", `/api/strategies/${a.id}/stop`)).status).toBe(200);
    expect((await admin.call("POST", `/api/strategies/${a2.id}/stop`)).status).toBe(200);

    const byViewer = await viewer.deploy({ name: "v", entry: 0.05, exit: 0.01 });
    expect(byViewer.status).toBe(403);
    expect(await byViewer.json()).toEqual({ detail: "requires role operator" });
    expect((await viewer.call("POST", `/api/strategies/${a.id}/stop`)).status).toBe(403);
    const anonymous = await client(server).deploy({ name: "n", entry: 0.05, exit: 0.01 });
    expect(anonymous.status).toBe(401);
    expect((await (await viewer.call("GET", "/api/strategies")).json()).strategies).toHaveLength(2);
  });
});
