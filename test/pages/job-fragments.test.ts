// The job page's fragment renderers: what the socket and the poll send, the results, the charts,
// and that every user-supplied string renders as text.
import { describe, expect, test } from "bun:test";
import { OPEN_IDENTITY } from "../../src/access/roles";
import { jobActions, jobLiveFragment, jobPage, jobProgress, resultsLoader, type JobLiveView } from "../../views/pages/job";
import { gridResults, gridResultsCsv, simulationResults, simulationResultsCsv, topPairs, type PairResult } from "../../views/pages/results";
import { colourLevel, heatmapSvg, PALETTE } from "../../views/svg/heatmap";
import { equitySvg } from "../../views/svg/equity";
import { JobClock } from "../../src/page-fragments/job-clock";
import { createPageRenderer } from "../../src/page-fragments/render";

const EVIL = `<script>alert("x")</script>`;
const running: JobLiveView = { id: "job-1", status: "running", current: 250, total: 1000, current_combo: "entry=0.050, exit=0.010", rate: 1234.5, etaMs: 61_000, elapsedMs: 3_000 };

const fig = (pnl: number) => ({ pnl, trades: 10, wins: 6 });
function pairs(): PairResult[] {
  const out: PairResult[] = [];
  for (let e = 1; e <= 5; e++) for (let x = 0; x < e; x++) out.push({ entry: e / 100, exit: x / 100, train: fig(e - 2 * x), valid: fig(1), test: fig(-1) });
  return out;
}

describe("job progress fragment", () => {
  test("a running job shows the bar with value and max, the current pair, rate, ETA and elapsed", () => {
    const s = String(jobProgress(running));
    expect(s).toContain('<progress max="100" value="25.0"');
    expect(s).toContain("25.0%");
    expect(s).toContain("entry=0.050, exit=0.010");
    expect(s).toContain("1,235/s");
    expect(s).toContain("1 min 01 s");
    expect(s).toContain("3.0 s");
    expect(s).toContain('data-status="running"');
    expect(s).not.toContain("data-terminal");
  });

  test("the socket fragment is only out-of-band swaps: progress while running, actions and results loader once complete", () => {
    const live = jobLiveFragment(running);
    expect(live).toStartWith('<div id="job-progress"');
    expect(live).toContain('hx-swap-oob="true"');
    expect(live).not.toContain("job-actions");
    const done = jobLiveFragment({ ...running, status: "complete", current: 1000 });
    expect(done).toContain('id="job-actions" class="actions" hx-swap-oob="true"');
    expect(done).toContain("Download CSV");
    expect(done).not.toContain("Cancel job");
    expect(done).toContain('id="job-results-pending" hx-swap-oob="true" hx-get="/jobs/job-1/results" hx-trigger="load"');
    expect(done).toContain("data-terminal");
    // Every top-level element of the message is an OOB swap, so hx-ws swaps nothing into the socket element.
    const top = done.match(/^<div[^>]*>|(?<=<\/div>)<div[^>]*>/g) ?? [];
    for (const tag of top) expect(tag).toContain("hx-swap-oob");
  });

  test("cancelled and failed jobs say so and offer no results", () => {
    expect(String(resultsLoader({ ...running, status: "cancelled" }))).toContain("the job was cancelled");
    const failed = jobLiveFragment({ ...running, status: "error", error: "worker died" });
    expect(failed).toContain("Failed");
    expect(failed).toContain('role="alert">worker died');
  });

  test("the cancel button posts without scripts and with htmx", () => {
    const s = String(jobActions(running, false, { viewer: OPEN_IDENTITY }));
    expect(s).toContain('<form method="post" action="/jobs/job-1/cancel" hx-post="/jobs/job-1/cancel" hx-swap="none">');
    expect(s).toContain('<button type="submit" class="danger">Cancel job</button>');
  });

  test("user strings render as text: job id, error message, current pair", () => {
    const v = { ...running, id: EVIL, error: EVIL, current_combo: EVIL };
    for (const s of [jobLiveFragment(v), jobLiveFragment({ ...v, status: "complete" }), String(jobPage("t", OPEN_IDENTITY, { live: v, kind: "grid_search", params: { entry_start: 0.1 }, games: 3, createdAt: new Date(0), canCancel: true }))]) {
      expect(s).not.toContain("<script>alert");
      expect(s).not.toContain('"x")');
    }
    expect(jobLiveFragment(v)).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  test("the page opens one socket named for the job, polls only as a fallback, and a finished job opens none", () => {
    const page = String(jobPage("t", OPEN_IDENTITY, { live: running, kind: "grid_search", params: {}, games: 3, createdAt: new Date(0), canCancel: true }));
    // besides the alerts banner's socket every admin page holds (views/alerts.ts)
    expect(page.match(/hx-ws:connect=/g)?.length).toBe(1);
    expect(page).toContain('hx-ws:connect="/pages/ws/jobs/job-1"');
    expect(page).toContain('hx-get="/jobs/job-1/live" hx-trigger="gridcast-poll" hx-swap="none"');
    expect(page).toContain("<noscript><meta http-equiv=\"refresh\"");
    const done = String(jobPage("t", OPEN_IDENTITY, { live: { ...running, status: "complete" }, kind: "grid_search", params: {}, games: 3, createdAt: new Date(0), canCancel: true }));
    expect(done).not.toContain("hx-ws:connect");
    expect(done).not.toContain('id="poller"');
    expect(done).toContain('data-live="final"');
  });
});

describe("results", () => {
  test("grid results: heatmap with axes, legend and the selection marked; top pairs with train, valid and test", () => {
    const ps = pairs();
    const best = topPairs(ps)[0];
    const s = String(gridResults({ id: "j", games: 20, pairs: ps, finalSelection: best, fee: 0, viewer: OPEN_IDENTITY }));
    expect(s).toContain("<svg");
    expect(s).toContain("entry threshold");
    expect(s).toContain("exit threshold");
    expect(s).toContain('class="legend"');
    expect(s).toContain("Final selection: entry 0.05, exit 0");
    expect(s).toContain('class="hm-pick"');
    expect(s).toContain('<tr class="picked"');
    expect(s.match(/<tbody>.*<\/tbody>/s)![0].match(/<tr/g)!.length).toBe(10);
    expect(s).toContain('href="/jobs/j/results.csv"');
    expect(s).toContain('href="/jobs/j/results.json"');
  });

  test("top pairs rank by train P&L, ties to the smaller entry then exit", () => {
    const ps: PairResult[] = [
      { entry: 0.2, exit: 0.1, train: fig(5), valid: fig(0), test: fig(0) },
      { entry: 0.1, exit: 0.05, train: fig(5), valid: fig(0), test: fig(0) },
      { entry: 0.1, exit: 0.0, train: fig(5), valid: fig(0), test: fig(0) },
      { entry: 0.3, exit: 0.0, train: fig(9), valid: fig(0), test: fig(0) },
    ];
    expect(topPairs(ps).map((p) => [p.entry, p.exit])).toEqual([[0.3, 0], [0.1, 0], [0.1, 0.05], [0.2, 0.1]]);
  });

  test("top pairs of any grid are the head of the full sort, ties included", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const ps: PairResult[] = Array.from({ length: Math.floor(rnd() * 60) }, () => ({
        entry: Math.ceil(rnd() * 5) / 10, exit: Math.floor(rnd() * 5) / 100, train: fig(Math.floor(rnd() * 4)), valid: fig(0), test: fig(0),
      }));
      const sorted = [...ps].sort((a, b) => b.train.pnl - a.train.pnl || a.entry - b.entry || a.exit - b.exit);
      for (const n of [1, 3, 10]) expect(topPairs(ps, n).map((p) => [p.train.pnl, p.entry, p.exit])).toEqual(sorted.slice(0, n).map((p) => [p.train.pnl, p.entry, p.exit]));
    }
  });

  test("a large grid is binned: the SVG stays small", () => {
    const cells = [];
    for (let e = 1; e <= 400; e++) for (let x = 0; x < e; x += 1) cells.push({ entry: e / 1000, exit: x / 1000, pnl: Math.sin(e * x) });
    const svg = String(heatmapSvg(cells, { entry: 0.2, exit: 0.1 }));
    expect(cells.length).toBeGreaterThan(80_000);
    expect(svg.length).toBeLessThan(200_000);
    expect(svg).toContain("binned");
  });

  test("the colour scale is symmetric around zero, red for loss and blue for gain", () => {
    expect(PALETTE[colourLevel(0, 5)]).toBe("#f7f7f7");
    expect(colourLevel(-5, 5)).toBe(0);
    expect(colourLevel(5, 5)).toBe(PALETTE.length - 1);
    expect(colourLevel(0, 0)).toBe(5);
  });

  test("simulation results: equity curve and per-game rows, game ids as text", () => {
    const games = [
      { game_id: EVIL, pnl: 1, trades: 1, wins: 1, equity: 1 },
      { game_id: "g2", pnl: -0.5, trades: 2, wins: 0, equity: 0.5 },
    ];
    const s = String(simulationResults({ id: "s", entry: 0.05, exit: 0.01, games, total: { pnl: 0.5, trades: 3, wins: 1 } }));
    expect(s).toContain("Equity curve");
    expect(s).toContain("&lt;script&gt;");
    expect(s).not.toContain("<script>");
    expect(s).toContain("+0.5000");
  });

  test("equity curve over many games keeps the extremes and stays small", () => {
    const eq = Float64Array.from({ length: 100_000 }, (_, i) => Math.sin(i / 1000) * 10 + (i === 50_000 ? 40 : 0));
    const svg = String(equitySvg(eq));
    expect(svg.length).toBeLessThan(100_000);
    const max = Math.max(...eq);
    expect(svg.includes(`highest +${max.toFixed(4)}`)).toBe(true);
  });

  test("CSV downloads: one row per pair; game ids quoted when needed", () => {
    expect(gridResultsCsv(pairs()).split("\n")[0]).toBe("entry,exit,train_pnl,train_trades,train_wins,valid_pnl,valid_trades,valid_wins,test_pnl,test_trades,test_wins");
    expect(gridResultsCsv(pairs()).trim().split("\n").length).toBe(16);
    expect(simulationResultsCsv([{ game_id: 'a,"b"', pnl: 1, trades: 1, wins: 1, equity: 1 }])).toBe('game_id,pnl,trades,wins,equity\n"a,""b""",1,1,1,1\n');
  });
});

describe("job clock and the page renderer", () => {
  test("rate over the last seconds, ETA from it, elapsed from the first running state", () => {
    const clock = new JobClock();
    clock.observe("a", { status: "queued", current: 0 }, 0);
    expect(clock.timing("a", 0, 100, 0)).toEqual({});
    clock.observe("a", { status: "running", current: 0 }, 1000);
    clock.observe("a", { status: "running", current: 10 }, 2000);
    clock.observe("a", { status: "running", current: 20 }, 3000);
    expect(clock.timing("a", 20, 100, 3000)).toEqual({ elapsedMs: 2000, rate: 10, etaMs: 8000 });
    clock.observe("a", { status: "complete", current: 100 }, 4000);
    expect(clock.timing("a", 100, 100, 9000)).toEqual({ elapsedMs: 3000 });
  });

  test("the page format renders job topics only, with timing", () => {
    const clock = new JobClock();
    let now = 1000;
    const render = createPageRenderer({ clock, now: () => now });
    render("job:x", { status: "running", current: 0, total: 100, current_combo: "" }, 1, "e");
    now = 2000;
    const s = render("job:x", { status: "running", current: 50, total: 100, current_combo: "entry=0.1" }, 2, "e")!;
    expect(s).toContain("50.0%");
    expect(s).toContain("<dd>50/s</dd>");
    expect(render("something-else", {}, 1, "e")).toBeNull();
  });
});
