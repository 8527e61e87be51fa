// Three real daemons on one PostgreSQL (cluster.md, issue 15's test): a grid search submitted on A
// and watched over sockets on B and C, B killed with SIGKILL mid-job, results equal to a single
// node's bit for bit; a cancel sent from C; a token made on A used on C.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchDaemon, waitHealthy, type Daemon } from "../support/daemon";
import { eventually } from "../support/eventually";
import { scratchDatabase } from "../support/migrations";

const FLAGS = ["--heartbeat-ms", "200", "--lease-ms", "2000", "--workers", "1", "--tick-ms", "20"];
const GRID = { entry_start: 0.002, entry_stop: 0.3, entry_step: 0.002, exit_start: 0, exit_stop: 0.2, exit_step: 0.002 };

type Progress = { status: string; current: number; total: number };
const dir = () => join(mkdtempSync(join(tmpdir(), "gridcast-three-")), "data");
const running: Daemon[] = [];
afterAll(() => {
  for (const d of running) if (d.proc.exitCode === null) d.proc.kill("SIGKILL");
});

async function daemon(id: string, url: string, extra: string[] = []): Promise<Daemon> {
  const d = await launchDaemon(dir(), [...FLAGS, "--node-id", id, ...extra], { DATABASE_URL: url });
  running.push(d);
  await waitHealthy(d.url);
  return d;
}

const post = (d: Daemon, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${d.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

/** Every progress message a job socket on `d` gets, until it closes. */
function watch(d: Daemon, id: string) {
  const ws = new WebSocket(`${d.url.replace("http", "ws")}/ws/grid-search/${id}`);
  const seen: Progress[] = [];
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data));
    if (m.type === "progress") seen.push(m.progress);
  };
  const closed = new Promise<number>((r) => (ws.onclose = (e) => r(e.code)));
  return { seen, closed };
}

const progress = async (d: Daemon, id: string): Promise<Progress> => (await fetch(`${d.url}/api/grid-search/progress/${id}`)).json();
const settled = (d: Daemon, id: string) => eventually(async () => {
  const p = await progress(d, id);
  return p.status !== "queued" && p.status !== "running" && p;
}, { timeoutMs: 120_000, intervalMs: 50, what: `job ${id} to end` });

describe.skipIf(!process.env.DATABASE_URL)("three daemons on one PostgreSQL", () => {
  test("a grid search on A, watched on B and C, B killed mid-job: the others finish it with a single node's results", async () => {
    const db = await scratchDatabase("gridcast_three");
    try {
      const [a, b, c] = [await daemon("node-a", db.url), await daemon("node-b", db.url), await daemon("node-c", db.url)];
      expect((await post(a, "/api/games/demo?games=1200&seed=3")).status).toBe(200);
      const { request_id: id } = await (await post(a, "/api/grid-search/run", GRID)).json();
      const onB = watch(b, id);
      const onC = watch(c, id);
      // B takes part (its worker busy on A's job), then dies without a word.
      await eventually(async () => {
        const h = await (await fetch(`${b.url}/health`)).json();
        return h.services.workers.busy > 0;
      }, { timeoutMs: 30_000, intervalMs: 10, what: "B's worker on A's job" });
      b.proc.kill("SIGKILL");
      await b.proc.exited;
      const done = await settled(a, id);
      expect(done).toMatchObject({ status: "complete", current: done.total });
      expect(await onC.closed).toBe(1000);
      const last = onC.seen.at(-1)!;
      expect(last).toMatchObject({ status: "complete", current: done.total });
      const currents = onC.seen.map((p) => p.current);
      expect(currents).toEqual([...currents].sort((x, y) => x - y));
      expect(onC.seen.filter((p) => p.status === "running").length).toBeGreaterThan(1);
      expect(onB.seen.length).toBeGreaterThan(0); // it watched until it died
      const results = await (await fetch(`${c.url}/api/grid-search/results/${id}`)).json();

      // The same job on one node of its own, over the same games: the same numbers, pair by pair.
      const solo = await daemon("solo", "", ["--workers", "2"]);
      expect((await post(solo, "/api/games/demo?games=1200&seed=3")).status).toBe(200);
      const { request_id: again } = await (await post(solo, "/api/grid-search/run", GRID)).json();
      expect((await settled(solo, again)).status).toBe("complete");
      const reference = await (await fetch(`${solo.url}/api/grid-search/results/${again}`)).json();
      expect(results.pairs.length).toBeGreaterThan(10_000);
      expect(results.pairs).toEqual(reference.pairs);
      expect(results.final_selection).toEqual(reference.final_selection);

      // A cancel sent from C stops A's next job everywhere within a second.
      const { request_id: next } = await (await post(a, "/api/grid-search/run", GRID)).json();
      await eventually(async () => (await progress(c, next)).status === "running", { timeoutMs: 30_000, what: "C to see the job running" });
      const sent = performance.now();
      const answer = await post(c, `/api/jobs/${next}/cancel`);
      expect(answer.status).toBe(200);
      expect((await answer.json()).status).toBe("cancelled");
      expect(performance.now() - sent).toBeLessThan(5000);
      expect(await progress(a, next)).toMatchObject({ status: "cancelled" });
      await eventually(async () => {
        const [ha, hc] = await Promise.all([a, c].map(async (d) => (await fetch(`${d.url}/health`)).json()));
        return ha.services.workers.busy === 0 && hc.services.workers.busy === 0;
      }, { timeoutMs: 3000, intervalMs: 20, what: "every worker off the cancelled job" });
      // Unknown and finished jobs: the same answers as on one node.
      expect((await post(c, "/api/jobs/00000000-0000-4000-8000-000000000000/cancel")).status).toBe(404);
      expect((await post(c, `/api/jobs/${next}/cancel`)).status).toBe(409);
      for (const d of [a, c, solo]) d.proc.kill("SIGTERM");
      for (const d of [a, c, solo]) expect(await d.proc.exited).toBe(0);
    } finally {
      await db.drop();
    }
  }, 300_000);
});
