// A job survives kill -9: the restarted daemon resumes from the units it had stored and ends with
// exactly the results of an uninterrupted run of the same job.
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchDaemon, waitHealthy } from "../support/daemon";
import { eventually } from "../support/eventually";

const GRID = { entry_start: 0.002, entry_stop: 0.4, entry_step: 0.002, exit_start: 0, exit_stop: 0.2, exit_step: 0.002 };

async function run(url: string) {
  const res = await fetch(`${url}/api/grid-search/run`, { method: "POST", body: JSON.stringify(GRID), headers: { "content-type": "application/json" } });
  return (await res.json()).request_id as string;
}
const progress = async (url: string, id: string) => (await fetch(`${url}/api/grid-search/progress/${id}`)).json();
type Progress = { status: string; current: number; total: number };
async function waitFor(url: string, id: string, done: (p: Progress) => boolean): Promise<Progress> {
  return eventually(async () => {
    const p: Progress = await progress(url, id);
    if (!done(p)) throw new Error(`job ${id} at ${JSON.stringify(p)}`);
    return p;
  }, { timeoutMs: 60_000, intervalMs: 25, what: `job ${id}` });
}

test("kill -9 during a grid search, restart: it resumes from stored units and matches an uninterrupted run", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "gridcast-resume-")), "data");
  const first = await launchDaemon(dir, ["--workers", "2"]);
  await waitHealthy(first.url);
  expect((await fetch(`${first.url}/api/games/demo?games=600&seed=11`, { method: "POST" })).status).toBe(200);
  const id = await run(first.url);
  // Units are written in batches as they finish; wait until a good part is done, then kill hard.
  const before = await waitFor(first.url, id, (p) => p.current > p.total * 0.25);
  expect(before.status).toBe("running");
  first.proc.kill("SIGKILL");
  await first.proc.exited;

  const second = await launchDaemon(dir, ["--workers", "2"]);
  await waitHealthy(second.url);
  const resumed = await progress(second.url, id);
  expect(["queued", "running", "complete"]).toContain(resumed.status);
  expect(resumed.current).toBeGreaterThan(0); // not started over from zero
  const done = await waitFor(second.url, id, (p) => p.status !== "queued" && p.status !== "running");
  expect(done).toMatchObject({ status: "complete", current: done.total });
  expect(second.lines.some((l) => l.includes('"resuming jobs"'))).toBe(true);

  // The same job, uninterrupted, on the same data: identical numbers, pair by pair.
  const again = await run(second.url);
  await waitFor(second.url, again, (p) => p.status === "complete");
  const a = await (await fetch(`${second.url}/api/grid-search/results/${id}`)).json();
  const b = await (await fetch(`${second.url}/api/grid-search/results/${again}`)).json();
  expect(a.pairs.length).toBeGreaterThan(5000);
  expect(a.pairs).toEqual(b.pairs);
  expect(a.final_selection).toEqual(b.final_selection);
  second.proc.kill("SIGTERM");
  expect(await second.proc.exited).toBe(0);
}, 120_000);
