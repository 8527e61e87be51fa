// The dashboard and the new grid search form: fragments, the live dashboard socket, the preview
// with inline errors, and the form's plain POST -> 303 to the job page.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OPEN_IDENTITY } from "../../src/access/roles";
import type { Database } from "../../src/db/database";
import type { RunningServer } from "../../src/server/lifecycle";
import { dashboardFragment, dashboardJobs, healthLine } from "../../views/pages/dashboard";
import { gridForm, previewFragment } from "../../views/pages/grid-form";
import { freshDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { startTestServer, stopTestServer } from "../support/server";

const EVIL = `<script>alert(1)</script>`;
const health = { database: { kind: "pglite", healthy: true, state: "open" }, workers: { size: 2, busy: 1, healthy: true }, connections: 3 };

describe("dashboard fragments", () => {
  test("a job row links to its page and shows a bar, rate and ETA; user strings are text", () => {
    const s = String(dashboardJobs([{ id: EVIL, kind: "grid_search", status: "running", current: 5, total: 10, current_combo: EVIL, created_at: "2024-01-01T00:00:00.000Z", rate: 2500, etaMs: 2000 }]));
    expect(s).toContain('href="/jobs/%3Cscript%3Ealert(1)%3C%2Fscript%3E"');
    expect(s).toContain("<progress");
    expect(s).toContain("2,500/s");
    expect(s).toContain("2.0 s");
    expect(s).not.toContain("<script>");
  });

  test("the socket message morphs the job list (focus survives) and swaps the health line", () => {
    const s = dashboardFragment({ jobs: [], health });
    expect(s).toStartWith('<div id="dashboard-jobs" hx-swap-oob="outerMorph">');
    expect(s).toContain('<p class="health" id="health-line" hx-swap-oob="true">');
    expect(String(healthLine({ ...health, database: { kind: "pglite", healthy: false, state: "opening" } }))).toContain("opening");
  });

  test("the form: API parameter names, inline errors by the field, values kept and escaped", () => {
    const s = String(gridForm({ values: { entry_start: `"><script>` }, errors: { entry_step: "must be > 0" } }, OPEN_IDENTITY));
    for (const name of ["entry_start", "entry_stop", "entry_step", "exit_start", "exit_stop", "exit_step", "fee", "train_fraction", "valid_fraction"]) {
      expect(s).toContain(`name="${name}"`);
    }
    expect(s).toContain('<span class="field-error" id="err-entry_step">must be &gt; 0</span>');
    expect(s).toContain('value="&quot;&gt;&lt;script&gt;"');
    expect(s).toContain('<form class="grid-form" method="post" action="/grid-search"');
    const p = previewFragment({ values: {}, errors: { exit_stop: "must be >= exit_start" }, preview: { ok: false, message: "Fix the marked field." } });
    expect(p).toContain('<span class="field-error" id="err-exit_stop" hx-swap-oob="true">must be &gt;= exit_start</span>');
    expect(p).toContain('<span class="field-error" id="err-entry_start" hx-swap-oob="true"></span>');
  });
});

describe("dashboard and form on a server", () => {
  let server: RunningServer;
  let db: Database;
  beforeAll(async () => {
    db = await freshDatabase("pglite");
    server = await startTestServer({ database: db, flags: ["--tick-ms", "20"] });
  });
  afterAll(async () => {
    await stopTestServer(server);
    await db.close();
  });
  const post = (path: string, body: string) => fetch(`${server.url}${path}`, { method: "POST", body, redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" } });

  test("with no games the preview and the submit say so", async () => {
    expect(await (await post("/grid-search/preview", "entry_start=0.01&entry_stop=0.1&entry_step=0.01&exit_start=0&exit_stop=0.05&exit_step=0.01")).text()).toContain("No games stored");
    const res = await post("/grid-search", "entry_start=0.01&entry_stop=0.1&entry_step=0.01&exit_start=0&exit_stop=0.05&exit_step=0.01");
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("No games stored");
  });

  test("preview: pairs and work; an invalid field gets its error inline", async () => {
    await fetch(`${server.url}/api/games/demo?games=50&seed=2`, { method: "POST" });
    const ok = await (await post("/grid-search/preview", "entry_start=0.01&entry_stop=0.1&entry_step=0.01&exit_start=0&exit_stop=0.05&exit_step=0.01&fee=0&train_fraction=0.6&valid_fraction=0.2")).text();
    expect(ok).toContain("<strong>45</strong> pairs × <strong>50</strong> games = <strong>2,250</strong>");
    const bad = await (await post("/grid-search/preview", "entry_start=0.01&entry_stop=0.1&entry_step=0&exit_start=0&exit_stop=0.05&exit_step=0.01")).text();
    expect(bad).toContain('id="err-entry_step" hx-swap-oob="true">must be &gt; 0</span>');
  });

  test("submit without scripts: 422 with the error by its field, or 303 to the job page", async () => {
    const bad = await post("/grid-search", "entry_start=abc&entry_stop=0.1&entry_step=0.01&exit_start=0&exit_stop=0.05&exit_step=0.01");
    expect(bad.status).toBe(422);
    const page = await bad.text();
    expect(page).toContain('id="err-entry_start">must be a number, got &quot;abc&quot;</span>');
    expect(page).toContain('value="abc"');
    const res = await post("/grid-search", "entry_start=0.01&entry_stop=0.1&entry_step=0.01&exit_start=0&exit_stop=0.05&exit_step=0.01&fee=0&train_fraction=0.6&valid_fraction=0.2");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/jobs\/[0-9a-f-]{36}$/);
  });

  test("the dashboard lists jobs, and its socket pushes the list as jobs move", async () => {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/pages/ws/dashboard`);
    const messages: string[] = [];
    ws.onmessage = (e) => messages.push(String(e.data));
    await new Promise((r) => (ws.onopen = r));
    const res = await post("/grid-search", "entry_start=0.01&entry_stop=0.3&entry_step=0.002&exit_start=0&exit_stop=0.2&exit_step=0.002");
    const id = res.headers.get("location")!.split("/").at(-1)!;
    await eventually(() => messages.some((m) => m.includes(`id="dj-${id}" data-status="complete"`)),
      { timeoutMs: 20_000, intervalMs: 20, what: `job ${id} complete on the dashboard socket` });
    expect(messages[0]).toStartWith('<div id="dashboard-jobs"');
    ws.close();
    const page = await (await fetch(`${server.url}/`)).text();
    expect(page).toContain('hx-ws:connect="/pages/ws/dashboard"');
    expect(page).toContain(`href="/jobs/${id}"`);
    expect(page).toContain('name="entry_start"');
  });
});
