// A grid big enough that work growing with its pairs shows: storing and serving its results must
// leave the server answering (the event loop is let in between slices), and the results streamed
// page by page must be exactly the document the whole would give, held against the reference.
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { RunningServer } from "../../src/server/lifecycle";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { randomGames, refGrid, refValues } from "../support/reference";
import { startTestServer, stopTestServer } from "../support/server";

const { games, csv } = randomGames(5, 11);
// Entries 0.001..0.316 and exits 0..0.315 (step 0.001): 316 * 317 / 2 = 50,086 pairs.
const GRID = { entry_start: 0.001, entry_stop: 0.316, entry_step: 0.001, exit_start: 0, exit_stop: 0.315, exit_step: 0.001, fee: 0.002 };
const PAIRS = 50_086;
/** /health answers a phase must see: a blocked event loop answers at most one, at its end. */
const ANSWERS = 5;

forEachDatabase("big grid", (db) => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startTestServer({ database: db(), flags: ["--workers", "2", "--max-pairs", "100000"] });
    const res = await fetch(`${server.url}/api/games/import`, { method: "POST", body: csv, headers: { "content-type": "text/csv" } });
    expect(res.status).toBe(200);
  });
  afterEach(() => stopTestServer(server));

  const health = async () => (await fetch(`${server.url}/health`)).status === 200;

  /** Polls /health one request at a time until `done` settles; the answers that came back before. */
  async function healthAnswersUntil(done: Promise<unknown>): Promise<number> {
    let over = false;
    void done.finally(() => (over = true)).catch(() => {});
    let answers = 0;
    while (!over) {
      const ok = await health();
      if (!over && ok) answers++;
    }
    return answers;
  }

  test("a 50,086-pair grid: /health answers while its results are stored and while they are streamed, and the stream is the reference's results", async () => {
    const run = await fetch(`${server.url}/api/grid-search/run`, { method: "POST", body: JSON.stringify(GRID), headers: { "content-type": "application/json" } });
    expect(run.status).toBe(200);
    const { request_id: id } = await run.json();

    // Every pair counted but the job not yet complete: its rows are being stored.
    const progress = async () => (await fetch(`${server.url}/api/grid-search/progress/${id}`)).json();
    await eventually(async () => {
      const p = await progress();
      return p.status === "complete" || (p.status === "running" && p.current === p.total);
    }, { what: "every pair counted", timeoutMs: 20_000 });
    const complete = eventually(async () => (await progress()).status === "complete", { what: "the job stored and complete", timeoutMs: 60_000 });
    const whileStoring = await healthAnswersUntil(complete);
    await complete;

    let text = "";
    const fetched = (async () => {
      const res = await fetch(`${server.url}/api/grid-search/results/${id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("application/json");
      text = await res.text();
    })();
    const whileFetching = await healthAnswersUntil(fetched);
    await fetched;

    expect(whileStoring).toBeGreaterThanOrEqual(ANSWERS);
    expect(whileFetching).toBeGreaterThanOrEqual(ANSWERS);

    // The streamed text is the one JSON.stringify makes of the whole document (keys in
    // protocol.md's order, no stray separators), and its numbers are the reference's.
    const results = JSON.parse(text);
    expect(JSON.stringify(results)).toBe(text);
    expect(Object.keys(results)).toEqual(["request_id", "status", "games", "pairs", "final_selection"]);
    expect(results).toMatchObject({ request_id: id, status: "complete", games: games.length });
    const ref = refGrid(games, { es: refValues(0.001, 0.316, 0.001), xs: refValues(0, 0.315, 0.001), fee: GRID.fee });
    expect(ref.pairs).toHaveLength(PAIRS);
    expect(results.pairs).toHaveLength(PAIRS);
    const mismatches: string[] = [];
    results.pairs.forEach((p: (typeof ref.pairs)[number], i: number) => {
      const r = ref.pairs[i];
      if (p.entry !== r.entry || p.exit !== r.exit) mismatches.push(`pair ${i}: (${p.entry}, ${p.exit}) for (${r.entry}, ${r.exit})`);
      for (const s of ["train", "valid", "test"] as const) {
        if (Math.abs(p[s].pnl - r[s].pnl) > 1e-9 || p[s].trades !== r[s].trades || p[s].wins !== r[s].wins) mismatches.push(`pair ${i} ${s}: ${JSON.stringify(p[s])} for ${JSON.stringify(r[s])}`);
      }
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(results.final_selection).toMatchObject({ entry: ref.best.entry, exit: ref.best.exit });

    // The job page's downloads stream through the same code: the same JSON, byte for byte, and a
    // CSV with its header once and a line per pair.
    const download = await fetch(`${server.url}/jobs/${id}/results.json`);
    expect(download.headers.get("content-disposition")).toBe(`attachment; filename="${id}.json"`);
    expect(await download.text()).toBe(text);
    const lines = (await (await fetch(`${server.url}/jobs/${id}/results.csv`)).text()).split("\n");
    expect(lines[0]).toBe("entry,exit,train_pnl,train_trades,train_wins,valid_pnl,valid_trades,valid_wins,test_pnl,test_trades,test_wins");
    expect(lines).toHaveLength(PAIRS + 2); // the header, a line per pair, and the empty string after the last newline
    const p = results.pairs[PAIRS - 1];
    expect(lines[PAIRS]).toBe([p.entry, p.exit, ...["train", "valid", "test"].flatMap((s) => [p[s].pnl, p[s].trades, p[s].wins])].join(","));
    expect(await health()).toBe(true);
  }, 90_000);
});
