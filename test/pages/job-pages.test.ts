// The job page end to end on a real server: the page, its socket of HTML fragments (rendered once
// per tick for all its pages, ending with close 1000), the fallback fragment, results, downloads
// and cancel, with and without htmx.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "../../src/db/database";
import type { RunningServer } from "../../src/server/lifecycle";
import { freshDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { startTestServer, stopTestServer } from "../support/server";

let server: RunningServer;
let db: Database;
beforeAll(async () => {
  db = await freshDatabase("pglite");
  server = await startTestServer({ database: db, flags: ["--tick-ms", "20"] });
  await fetch(`${server.url}/api/games/demo?games=300&seed=3`, { method: "POST" });
});
afterAll(async () => {
  await stopTestServer(server);
  await db.close();
});

const grid = { entry_start: 0.005, entry_stop: 0.4, entry_step: 0.005, exit_start: 0, exit_stop: 0.2, exit_step: 0.005 };
async function runGrid(params: object = grid): Promise<string> {
  const res = await fetch(`${server.url}/api/grid-search/run`, { method: "POST", body: JSON.stringify(params), headers: { "content-type": "application/json" } });
  return (await res.json()).request_id;
}

function pageSocket(path: string) {
  const ws = new WebSocket(`${server.url.replace("http", "ws")}${path}`);
  const messages: string[] = [];
  ws.onmessage = (e) => messages.push(String(e.data));
  const opened = new Promise((r) => (ws.onopen = r));
  const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
  return { ws, messages, opened, closed };
}

/** Waits for a job to reach `status`, read from its progress endpoint. */
function reaches(kind: "grid-search" | "simulation", id: string, status: string) {
  return eventually(async () => (await (await fetch(`${server.url}/api/${kind}/progress/${id}`)).json()).status === status,
    { timeoutMs: 20_000, intervalMs: 20, what: `${kind} ${id} ${status}` });
}

describe("job page", () => {
  test("the page socket sends HTML fragments of out-of-band swaps, the final state, then closes with 1000", async () => {
    const id = await runGrid();
    const sockets = [0, 1, 2, 3].map(() => pageSocket(`/pages/ws/jobs/${id}`));
    const closes = await Promise.all(sockets.map((s) => s.closed));
    for (const c of closes) expect(c.code).toBe(1000);
    // Auth is off, so every page is an admin's: its socket also carries the alerts banner.
    const all = sockets[0].messages;
    const msgs = all.filter((m) => !m.startsWith('<div id="alerts-banner"'));
    expect(all.filter((m) => m.startsWith('<div id="alerts-banner"')).length).toBeLessThanOrEqual(1);
    expect(msgs.length).toBeGreaterThanOrEqual(1);
    for (const m of all) expect(m).toContain('hx-swap-oob="true"');
    for (const m of msgs) expect(m).toStartWith('<div id="job-progress"');
    const last = msgs.at(-1)!;
    expect(last).toContain('data-status="complete"');
    expect(last).toContain('value="100.0"');
    expect(last).toContain(`hx-get="/jobs/${id}/results"`);
    // The same bytes went to every page: rendered once and fanned out, not once per connection.
    expect(sockets[3].messages.filter((m) => !m.startsWith('<div id="alerts-banner"')).at(-1)).toBe(last);
  });

  test("renders once per publish however many pages watch", async () => {
    const id = await runGrid({ ...grid, entry_step: 0.002, exit_step: 0.002 });
    const before = server.hub.stats().renders;
    const sockets = Array.from({ length: 20 }, () => pageSocket(`/pages/ws/jobs/${id}`));
    await Promise.all(sockets.map((s) => s.closed));
    const renders = server.hub.stats().renders - before;
    const most = Math.max(...sockets.map((s) => s.messages.length));
    // One render per publish (plus one per socket opened before the first publish at most).
    expect(renders).toBeLessThanOrEqual(most + 20);
    expect(renders).toBeLessThan(most * 3);
  });

  test("the page, the fallback fragment, the results and the downloads of a finished grid search", async () => {
    const id = await runGrid();
    await reaches("grid-search", id, "complete");
    const page = await (await fetch(`${server.url}/jobs/${id}`)).text();
    expect(page).toContain("<!doctype html>");
    expect(page).toContain('data-status="complete"');
    expect(page).toContain("Train P&amp;L by entry and exit threshold");
    expect(page).toContain('class="hm-pick"');
    // nothing left to watch (the alerts banner's socket, on every admin page, apart)
    expect(page).not.toContain("hx-ws:connect");
    const live = await (await fetch(`${server.url}/jobs/${id}/live`)).text();
    expect(live).toStartWith('<div id="job-progress"');
    const api = await (await fetch(`${server.url}/api/grid-search/results/${id}`)).json();
    const json = await fetch(`${server.url}/jobs/${id}/results.json`);
    expect(json.headers.get("content-disposition")).toContain("attachment");
    expect(await json.json()).toEqual(api);
    const csv = await (await fetch(`${server.url}/jobs/${id}/results.csv`)).text();
    const lines = csv.trim().split("\n");
    expect(lines.length).toBe(api.pairs.length + 1);
    expect(lines[1]).toBe([api.pairs[0].entry, api.pairs[0].exit, api.pairs[0].train.pnl, api.pairs[0].train.trades, api.pairs[0].train.wins, api.pairs[0].valid.pnl, api.pairs[0].valid.trades, api.pairs[0].valid.wins, api.pairs[0].test.pnl, api.pairs[0].test.trades, api.pairs[0].test.wins].join(","));
    const results = await (await fetch(`${server.url}/jobs/${id}/results`, { headers: { "HX-Request": "true" } })).text();
    expect(results).toContain("<svg");
    expect(results).not.toContain("<html");
  });

  test("cancel: a form post without scripts gets 303 to the job page; with htmx the fragment", async () => {
    const id = await runGrid({ ...grid, entry_step: 0.0005, exit_step: 0.0005 });
    const res = await fetch(`${server.url}/jobs/${id}/cancel`, { method: "POST", redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/jobs/${id}`);
    await reaches("grid-search", id, "cancelled");
    const frag = await (await fetch(`${server.url}/jobs/${id}/cancel`, { method: "POST", headers: { "HX-Request": "true" } })).text();
    expect(frag).toContain('data-status="cancelled"');
    expect(frag).toContain("the job was cancelled");
  });

  test("a simulation started from the form: per-game results and the equity curve", async () => {
    const res = await fetch(`${server.url}/simulation`, { method: "POST", body: "entry=0.05&exit=0.01&fee=0", headers: { "content-type": "application/x-www-form-urlencoded" }, redirect: "manual" });
    expect(res.status).toBe(303);
    const location = res.headers.get("location")!;
    const id = location.split("/").at(-1)!;
    await reaches("simulation", id, "complete");
    const page = await (await fetch(`${server.url}${location}`)).text();
    expect(page).toContain("Equity curve");
    expect(page).toContain("synthetic-0001");
  });

  test("an unknown job is a 404 page; a bad simulation form a 422 naming the field", async () => {
    const res = await fetch(`${server.url}/jobs/no-such-job`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("No job with this id");
    const bad = await fetch(`${server.url}/simulation`, { method: "POST", body: "entry=0.01&exit=0.05", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain("exit: must be &lt; entry");
  });
});
