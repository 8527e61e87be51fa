// The terminal client (`gridcast grid-search | simulate | watch | jobs`) run as a child process
// against a real test daemon, on both databases: the bar redrawn in place in a pseudo-terminal
// (under `script`), plain lines into a pipe, the tables, --json equal to GET results, Ctrl-C
// cancelling the job on the server (exit 130), and exit 1 / 2 for refusals and bad arguments.
// A job that must stay queued waits behind a "blocker": a grid far too big to finish, cancelled
// as soon as the test has seen what it waits for (one job runs at a time on these daemons).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningServer } from "../../src/server/lifecycle";
import { launchDaemon, waitHealthy } from "../support/daemon";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { makeToken, startAuthServer, startTestServer, stopTestServer } from "../support/server";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const SCRIPT = Bun.which("script");
const FLAGS = ["--max-running-jobs", "1", "--workers", "1", "--max-pairs", "1000000"];
const GAMES = 200;

/** 15 pairs: a second's fraction of work over the demo games. */
const SMALL = ["--entry", "0.02:0.1:0.02", "--exit", "0:0.08:0.02", "--fee", "0.001"];
/** ~500k pairs x 200 games: tens of seconds of one worker's time, so it holds the queue. */
const BLOCKER = { entry_start: 0.001, entry_stop: 1, entry_step: 0.001, exit_start: 0, exit_stop: 0.999, exit_step: 0.001 };

const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

interface Child {
  proc: ReturnType<typeof Bun.spawn>;
  seen: { out: string; err: string };
  done(): Promise<{ code: number | null; out: string; err: string }>;
}

/** The CLI as a child: piped, or in a pseudo-terminal (`script` puts stdout and stderr on it). */
function spawnCli(args: string[], o: { env?: Record<string, string>; pty?: boolean } = {}): Child {
  const cmd = [process.execPath, MAIN, ...args];
  const argv = o.pty ? [SCRIPT!, "-qfec", cmd.map(shellQuote).join(" "), "/dev/null"] : cmd;
  const proc = Bun.spawn(argv, {
    env: { ...process.env, DATABASE_URL: "", GRIDCAST_TOKEN: "", ...o.env },
    stdin: o.pty ? "pipe" : "ignore", stdout: "pipe", stderr: "pipe",
  });
  const seen = { out: "", err: "" };
  const pump = async (stream: ReadableStream<Uint8Array>, key: "out" | "err") => {
    const dec = new TextDecoder();
    for await (const chunk of stream) seen[key] += dec.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(proc.stdout as ReadableStream<Uint8Array>, "out"), pump(proc.stderr as ReadableStream<Uint8Array>, "err")]);
  return {
    proc, seen,
    async done() {
      const code = await proc.exited;
      await pumps;
      return { code, ...seen };
    },
  };
}

const cli = (args: string[], o?: { env?: Record<string, string>; pty?: boolean }) => spawnCli(args, o).done();

forEachDatabase("gridcast terminal client", (db) => {
  let server: RunningServer;
  let url: string;
  beforeEach(async () => {
    server = await startTestServer({ database: db(), flags: FLAGS });
    url = server.url;
    expect((await fetch(`${url}/api/games/demo?games=${GAMES}&seed=1`, { method: "POST" })).status).toBe(200);
  });
  afterEach(() => stopTestServer(server));

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : { "content-type": "application/json" } });
    return { status: res.status, json: await res.json() };
  };
  const progress = async (id: string) => (await api("GET", `/api/grid-search/progress/${id}`)).json as { status: string; current: number; total: number };
  async function blocker(): Promise<string> {
    const { json } = await api("POST", "/api/grid-search/run", BLOCKER);
    await eventually(async () => (await progress(json.request_id)).status === "running", { what: "the blocker to run" });
    return json.request_id;
  }
  const submittedId = (text: string) => /job ([0-9a-f-]{36}) submitted/.exec(text)?.[1];

  test("piped: plain lines (no carriage return), then the final selection and the top 10 pairs as GET results has them", async () => {
    const r = await cli(["grid-search", ...SMALL, "--server", url]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).not.toContain("\r");
    const id = submittedId(r.out)!;
    const results = (await api("GET", `/api/grid-search/results/${id}`)).json;
    const lines = r.out.split("\n");
    expect(lines.filter((l) => l.startsWith("complete"))).toEqual([expect.stringMatching(/^complete 100%  3,000\/3,000 pair-games  waited \d/)]);
    const progressLines = lines.filter((l) => /^(queued|running|complete) \d+%/.test(l));
    expect(progressLines.length).toBeGreaterThanOrEqual(1);
    expect(progressLines.length).toBeLessThanOrEqual(14); // one per state and per tenth at most
    const sel = results.final_selection;
    expect(r.out).toContain(`Final selection: entry ${sel.entry}, exit ${sel.exit} (the best train P&L of 15 pairs over ${GAMES} games)`);
    const trainRow = lines.find((l) => l.startsWith("train "))!;
    expect(trainRow.split(/\s+/)).toEqual(["train", `+${sel.train.pnl.toFixed(4)}`, sel.train.trades.toLocaleString("en-US"), `${Math.round((sel.train.wins / sel.train.trades) * 100)}%`]);
    expect(lines.find((l) => l.startsWith("test "))!.split(/\s+/)[1]).toBe(`${sel.test.pnl >= 0 ? "+" : "−"}${Math.abs(sel.test.pnl).toFixed(4)}`);
    expect(r.out).toContain("Top 10 pairs by train P&L:");
    const top = lines.slice(lines.findIndex((l) => l.startsWith("Top 10")) + 2).filter((l) => /^\s*\d+\s/.test(l));
    expect(top).toHaveLength(10);
    const ranked = [...results.pairs].sort((a, b) => b.train.pnl - a.train.pnl || a.entry - b.entry || a.exit - b.exit);
    expect(top.map((l) => l.trim().split(/\s+/).slice(1, 3).map(Number))).toEqual(ranked.slice(0, 10).map((p) => [p.entry, p.exit]));
  });

  test("--json prints only the results document, equal to GET results; the notes go to stderr", async () => {
    const grid = await cli(["grid-search", ...SMALL, "--server", url, "--json"]);
    expect(grid.code).toBe(0);
    const doc = JSON.parse(grid.out);
    expect(doc).toEqual((await api("GET", `/api/grid-search/results/${doc.request_id}`)).json);
    expect(doc.pairs).toHaveLength(15);
    expect(grid.err).toContain(`job ${doc.request_id} submitted`);
    expect(grid.err).toContain("complete 100%");

    const sim = await cli(["simulate", "--entry", "0.05", "--exit", "0.01", "--server", url, "--json"]);
    expect(sim.code).toBe(0);
    const simDoc = JSON.parse(sim.out);
    expect(simDoc).toEqual((await api("GET", `/api/simulation/results/${simDoc.request_id}`)).json);
    expect(simDoc.games).toHaveLength(GAMES);
  });

  test("simulate prints the totals and the first games as GET results has them", async () => {
    const r = await cli(["simulate", "--entry", "0.05", "--exit", "0.01", "--games", "synthetic-0002,synthetic-0001", "--server", url]);
    expect(r.code).toBe(0);
    const id = submittedId(r.out)!;
    const doc = (await api("GET", `/api/simulation/results/${id}`)).json;
    expect(r.out).toContain(`Simulation: entry 0.05, exit 0.01 over 2 games: P&L +${doc.total.pnl.toFixed(4)}, ${doc.total.trades} trades`);
    const rows = r.out.split("\n").filter((l) => l.startsWith("synthetic-"));
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(doc.games.map((g: { game_id: string }) => g.game_id));
    expect(rows[1]!.split(/\s+/).at(-1)).toBe(`+${doc.games[1].equity.toFixed(4)}`);
  });

  test.skipIf(!SCRIPT)("in a pseudo-terminal the bar redraws in place (\\r, clear line) with percentages rising to 100.0%, then the table", async () => {
    const block = await blocker();
    const child = spawnCli(["grid-search", ...SMALL, "--server", url], { pty: true });
    // Queued behind the blocker: the first frame is drawn; then the blocker goes and the job runs.
    await eventually(() => child.seen.out.includes("queued"), { timeoutMs: 20_000, what: "the queued frame" });
    expect((await api("POST", `/api/jobs/${block}/cancel`)).status).toBe(200);
    const r = await child.done();
    expect(r.code).toBe(0);
    const frames = r.out.split("\r\x1b[2K").slice(1);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    const percents = frames.map((f) => Number(/\]\s+(\d+\.\d)%/.exec(f)![1]));
    expect(percents[0]).toBe(0);
    expect(percents.at(-1)).toBe(100);
    percents.forEach((p, i) => expect(p).toBeGreaterThanOrEqual(percents[i - 1] ?? 0));
    expect(frames[0]).toMatch(/^\[-{20}\]   0\.0%  0\/3,000  queued/);
    expect(frames.at(-1)).toMatch(/^\[#{20}\] 100\.0%  3,000\/3,000  complete  waited \d/);
    expect(r.out).toContain("Final selection: entry ");
    expect(r.out).toContain("Top 10 pairs by train P&L:");
  });

  test.skipIf(!SCRIPT)("Ctrl-C in the terminal asks the server to cancel the job: it is cancelled there, and the exit code is 130", async () => {
    const block = await blocker();
    const child = spawnCli(["grid-search", ...SMALL, "--server", url], { pty: true });
    await eventually(() => child.seen.out.includes("queued"), { timeoutMs: 20_000, what: "the queued frame" });
    const id = submittedId(child.seen.out)!;
    (child.proc.stdin as import("bun").FileSink).write("\x03"); // the terminal's Ctrl-C: SIGINT to the foreground job
    const r = await child.done();
    expect(r.code).toBe(130);
    expect(r.out).toContain(`cancelling job ${id} ...`);
    expect(r.out).toContain(`job ${id}: cancelled`);
    expect((await progress(id)).status).toBe("cancelled");
    expect((await progress(block)).status).toBe("running"); // only the followed job
    await api("POST", `/api/jobs/${block}/cancel`);
  });

  test("SIGINT to a piped client cancels its job on the server and exits 130; watch of that job then exits 1", async () => {
    const block = await blocker();
    const child = spawnCli(["grid-search", ...SMALL, "--server", url]);
    await eventually(() => child.seen.out.includes("queued 0%"), { timeoutMs: 20_000, what: "the queued line" });
    const id = submittedId(child.seen.out)!;
    child.proc.kill("SIGINT");
    const r = await child.done();
    expect(r.code).toBe(130);
    expect(r.err).toContain(`job ${id}: cancelled`);
    expect((await progress(id)).status).toBe("cancelled");
    await api("POST", `/api/jobs/${block}/cancel`);

    const w = await cli(["watch", id, "--server", url]);
    expect(w.code).toBe(1);
    expect(w.err).toBe(`gridcast: job ${id} is cancelled\n`);
  });

  test("watch follows a queued job to its end; watch of a complete one prints its results (--json equal to GET)", async () => {
    const block = await blocker();
    const { json } = await api("POST", "/api/simulation/run", { entry: 0.05, exit: 0.01 });
    const child = spawnCli(["watch", json.request_id, "--server", url]);
    await eventually(() => child.seen.out.includes("queued 0%"), { timeoutMs: 20_000, what: "the queued line" });
    await api("POST", `/api/jobs/${block}/cancel`);
    const r = await child.done();
    expect(r.code).toBe(0);
    expect(r.out).toContain(`following job ${json.request_id} (simulation)`);
    expect(r.out).toContain(`complete 100%  ${GAMES}/${GAMES} games`);
    expect(r.out).toContain(`over ${GAMES} games: P&L `);

    const again = await cli(["watch", json.request_id, "--server", url, "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toEqual((await api("GET", `/api/simulation/results/${json.request_id}`)).json);
  });

  test("watch of an unknown or malformed id exits 1 saying so", async () => {
    for (const id of ["3f2c7a4e-0000-4000-8000-000000000000", "../../etc/passwd", "x".repeat(300)]) {
      const r = await cli(["watch", id, "--server", url]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`gridcast: no job ${JSON.stringify(id)} on ${url}\n`);
    }
  });

  test("jobs prints a table of the jobs (id, kind, state, progress, created); --json as GET /api/jobs serves it", async () => {
    const grid = submittedId((await cli(["grid-search", ...SMALL, "--server", url])).out)!;
    const { json } = await api("POST", "/api/simulation/run", { entry: 0.05, exit: 0.01, games: ["synthetic-0001"] });
    await eventually(async () => (await progress(json.request_id)).status === "complete");
    const r = await cli(["jobs", "--server", url]);
    expect(r.code).toBe(0);
    const [head, ...rows] = r.out.trimEnd().split("\n");
    expect(head!.split(/\s+/)).toEqual(["ID", "KIND", "STATE", "PROGRESS", "CREATED", "BY"]);
    expect(rows.map((l) => l.split(/\s+/).slice(0, 5))).toEqual([
      [json.request_id, "simulation", "complete", "100%", "(1/1)"],
      [grid, "grid_search", "complete", "100%", "(3,000/3,000)"],
    ]);
    expect(rows[0]).toMatch(/ \d{4}-\d\d-\d\d \d\d:\d\dZ  -$/);
    const listed = await cli(["jobs", "--server", url, "--json", "--limit", "1"]);
    expect(JSON.parse(listed.out).jobs.map((j: { request_id: string }) => j.request_id)).toEqual([json.request_id]);
  });

  test("arguments the daemon refuses (422) exit 2 with its message naming the field", async () => {
    const step = await cli(["grid-search", "--entry", "0.01:0.2:0", "--exit", "0:0.1:0.01", "--server", url]);
    expect(step).toMatchObject({ code: 2, out: "", err: "gridcast: entry_step: must be > 0\n" });
    const games = await cli(["simulate", "--entry", "0.05", "--exit", "0.01", "--games", "nope", "--server", url]);
    expect(games).toMatchObject({ code: 2, err: 'gridcast: games: unknown game id "nope"\n' });
    const sim = await cli(["simulate", "--entry", "0.05", "--exit", "0.5", "--server", url]);
    expect(sim).toMatchObject({ code: 2, err: "gridcast: exit: must be < entry\n" });
    expect((await api("GET", "/api/jobs")).json.jobs).toEqual([]);
  });
});

forEachDatabase("gridcast terminal client with auth on", (db) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startAuthServer({ database: db(), flags: FLAGS });
  });
  afterEach(() => stopTestServer(server));

  test("a bad token exits 1 with the server's message; a viewer may list but not start; an operator's token (GRIDCAST_TOKEN) runs a job over the socket", async () => {
    const admin = await makeToken(server, "admin");
    expect((await fetch(`${server.url}/api/games/demo?games=20&seed=1`, { method: "POST", headers: { authorization: admin.bearer } })).status).toBe(200);
    const bad = await cli(["grid-search", ...SMALL, "--server", server.url, "--token", "gct_not-a-real-token"]);
    expect(bad).toMatchObject({ code: 1, out: "", err: "gridcast: 401: authentication required\n" });
    const none = await cli(["jobs", "--server", server.url]);
    expect(none).toMatchObject({ code: 1, err: "gridcast: 401: authentication required\n" });
    const viewer = await makeToken(server, "viewer");
    const refused = await cli(["simulate", "--entry", "0.05", "--exit", "0.01", "--server", server.url], { env: { GRIDCAST_TOKEN: viewer.token } });
    expect(refused).toMatchObject({ code: 1, err: "gridcast: 403: requires role operator\n" });
    expect(await cli(["jobs", "--server", server.url, "--token", viewer.token])).toMatchObject({ code: 0, out: "no jobs\n" });

    const operator = await makeToken(server, "operator", { name: "ops-1" });
    const ok = await cli(["grid-search", ...SMALL, "--server", server.url, "--json"], { env: { GRIDCAST_TOKEN: operator.token } });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).pairs).toHaveLength(15);
    const listed = await cli(["jobs", "--server", server.url, "--token", viewer.token]);
    expect(listed.out).toContain("grid_search  complete");
    expect(listed.out.trimEnd().endsWith("ops-1")).toBe(true);
  });
});

test("bad arguments exit 2 with a clear message, before anything is sent", async () => {
  const server = "http://127.0.0.1:1"; // nothing listens: a request would fail with exit 1, not 2
  const cases: [string[], string][] = [
    [["grid-search", ...SMALL], "grid-search needs --server URL"],
    [["grid-search", "--entry", "0.01:0.2", "--exit", "0:0.1:0.01", "--server", server], 'invalid --entry "0.01:0.2": must be START:STOP:STEP'],
    [["grid-search", "--entry", "a:b:c", "--exit", "0:0.1:0.01", "--server", server], 'invalid --entry "a:b:c"'],
    [["grid-search", "--entry", "0.01:0.2:0x1", "--exit", "0:0.1:0.01", "--server", server], 'invalid --entry "0.01:0.2:0x1"'],
    [["grid-search", "--exit", "0:0.1:0.01", "--server", server], "grid-search needs --entry"],
    [["grid-search", ...SMALL, "--games", " , ", "--server", server], "invalid --games"],
    [["grid-search", ...SMALL, "--fee", "1e", "--server", server], 'invalid --fee "1e": must be a number'],
    [["simulate", "--entry", "0.05", "--exit", "", "--server", server], 'invalid --exit "": must be a number'],
    [["simulate", "--entry", "0.05", "--exit", "0.01", "--limit", "3", "--server", server], "simulate takes no --limit"],
    [["watch", "--server", server], "watch takes one job id (got none)"],
    [["watch", "a", "b", "--server", server], 'watch takes one job id (got "a" "b")'],
    [["jobs", "--limit", "ten", "--server", server], 'invalid --limit "ten": must be a whole number'],
    [["jobs", "--entry", "0.1", "--server", server], "jobs takes no --entry"],
    [["jobs", "--server", "ftp://127.0.0.1"], 'invalid --server "ftp://127.0.0.1"'],
    [["jobs", "--server"], "option --server needs a value"],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 2, out: "" });
    expect(r.err).toStartWith("gridcast: ");
    expect(r.err).toContain(message);
  }
});

test("a daemon killed while a job is followed: exit 1, saying the socket closed and how to follow the job again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gridcast-client-"));
  const daemon = await launchDaemon(dir, FLAGS);
  try {
    await waitHealthy(daemon.url);
    expect((await fetch(`${daemon.url}/api/games/demo?games=${GAMES}&seed=1`, { method: "POST" })).status).toBe(200);
    const block = await fetch(`${daemon.url}/api/grid-search/run`, { method: "POST", body: JSON.stringify(BLOCKER), headers: { "content-type": "application/json" } });
    expect(block.status).toBe(200);
    const child = spawnCli(["grid-search", ...SMALL, "--server", daemon.url]);
    await eventually(() => child.seen.out.includes("queued 0%"), { timeoutMs: 20_000, what: "the queued line" });
    const id = /job ([0-9a-f-]{36}) submitted/.exec(child.seen.out)![1];
    daemon.proc.kill("SIGKILL");
    const r = await child.done();
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^gridcast: the job's socket closed \\(\\d+[^)]*\\) before the job finished; follow it again with gridcast watch ${id}\n$`));
  } finally {
    daemon.proc.kill("SIGKILL");
    await daemon.proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a daemon that does not answer exits 1 saying so", async () => {
  for (const args of [["jobs"], ["watch", "some-id"], ["grid-search", ...SMALL]]) {
    const r = await cli([...args, "--server", "http://127.0.0.1:1"]);
    expect(r.code).toBe(1);
    expect(r.err).toStartWith("gridcast: --server http://127.0.0.1:1 does not answer: ");
  }
});
