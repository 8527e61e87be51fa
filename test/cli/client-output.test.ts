// The terminal client's parts without a daemon: the progress bar on a fake terminal and a fake
// pipe with a fake clock (rate, ETA, redraw, bounded plain lines, hostile text from a server), the
// argument forms, and the tables.
import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/config/resolve";
import { checkArgs, gridRequest, parseRange, simulationRequest } from "../../src/cli/client/args";
import { ProgressBar } from "../../src/cli/client/progress-bar";
import type { WireSnapshot } from "../../src/cli/client/socket";
import { columns, gridResultsText, jobsText } from "../../src/cli/client/table";
import type { JobListing } from "../../src/cli/client/api";

function fakeOutput(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns, write: (t: string) => void writes.push(t) } };
}

function fakeClock() {
  let t = 0;
  return { now: () => t, set: (ms: number) => void (t = ms) };
}

const snap = (status: WireSnapshot["status"], current: number, total = 10_000, extra: Partial<WireSnapshot> = {}): WireSnapshot => ({ status, current, total, current_combo: "entry=0.050, exit=0.010", ...extra });

describe("progress bar on a terminal", () => {
  test("each snapshot redraws one line in place (carriage return, clear line) with percent, rate and ETA; the last one ends the line", () => {
    const { writes, out } = fakeOutput(true, 120);
    const clock = fakeClock();
    const bar = new ProgressBar(out, { id: "j", unit: "pair-games", now: clock.now });
    bar.update(snap("queued", 0));
    clock.set(1000);
    bar.update(snap("running", 0));
    clock.set(2000);
    bar.update(snap("running", 1000));
    clock.set(3000);
    bar.update(snap("running", 2000));
    clock.set(4000);
    bar.update(snap("complete", 10_000));
    expect(writes.every((w) => w.startsWith("\r\x1b[2K"))).toBe(true);
    expect(writes.map((w) => w.slice(5))).toEqual([
      "[--------------------]   0.0%  0/10.0k  queued",
      "[--------------------]   0.0%  0/10.0k  – pair-games/s  ETA –  entry=0.050, exit=0.010",
      "[##------------------]  10.0%  1,000/10.0k  1,000 pair-games/s  ETA 9.0 s  entry=0.050, exit=0.010",
      "[####----------------]  20.0%  2,000/10.0k  1,000 pair-games/s  ETA 8.0 s  entry=0.050, exit=0.010",
      "[####################] 100.0%  10.0k/10.0k  complete  waited 4.0 s, 3,333 pair-games/s\n",
    ]);
  });

  test("a line is cut to the terminal's width so it never wraps (the final one may); 99.99% reads 99.9%, never 100.0%", () => {
    const { writes, out } = fakeOutput(true, 40);
    const bar = new ProgressBar(out, { id: "j", unit: "pair-games", now: () => 0 });
    bar.update(snap("running", 9_999));
    expect([...writes[0]!.slice(5)].length).toBe(39);
    expect(writes[0]).toContain("  99.9%");
    bar.update(snap("error", 9_999, 10_000, { error: "worker crashed: out of memory, and then some more words" }));
    expect(writes[1]).toEndWith("error: worker crashed: out of memory, and then some more words\n");
  });

  test("end() finishes a redrawn line so a message starts on its own line, once", () => {
    const { writes, out } = fakeOutput(true);
    const bar = new ProgressBar(out, { id: "j", unit: "games", now: () => 0 });
    bar.end();
    expect(writes).toEqual([]);
    bar.update(snap("running", 5));
    bar.end();
    bar.end();
    expect(writes.slice(1)).toEqual(["\n"]);
  });

  test("escape sequences and carriage returns from the server are shown as U+FFFD, never sent to the terminal", () => {
    const { writes, out } = fakeOutput(true, 200);
    const bar = new ProgressBar(out, { id: "j", unit: "games", now: () => 0 });
    bar.update(snap("running", 5, 10, { current_combo: "\x1b]0;pwned\x07\x1b[2J\rx" }));
    const line = writes[0]!.slice(5);
    expect(line).not.toMatch(/[\x00-\x1f]/);
    expect(line).toEndWith("\uFFFD]0;pwned\uFFFD\uFFFD[2J\uFFFDx");
  });
});

describe("progress bar into a pipe", () => {
  test("plain lines: one per state change and per tenth of the work, however many snapshots come", () => {
    const { writes, out } = fakeOutput(false);
    const clock = fakeClock();
    const bar = new ProgressBar(out, { id: "j", unit: "games", now: clock.now });
    bar.update(snap("queued", 0));
    bar.update(snap("queued", 0));
    for (let i = 0; i < 1000; i++) {
      clock.set(i * 100);
      bar.update(snap("running", i * 10));
    }
    bar.update(snap("complete", 10_000));
    bar.update(snap("complete", 10_000));
    expect(writes.every((w) => w.endsWith("\n") && !w.includes("\r"))).toBe(true);
    expect(writes.map((w) => w.split("  ")[0])).toEqual([
      "queued 0%", "running 0%", "running 10%", "running 20%", "running 30%", "running 40%", "running 50%",
      "running 60%", "running 70%", "running 80%", "running 90%", "complete 100%",
    ]);
    expect(writes[5]).toBe("running 40%  4,000/10,000 games  100 games/s  ETA 1 min 00 s  entry=0.050, exit=0.010\n");
    expect(writes.at(-1)).toBe("complete 100%  10,000/10,000 games  waited 1 min 40 s, 100 games/s\n");
  });
});

describe("client arguments", () => {
  test("ranges are START:STOP:STEP of numbers, made into the API's entry_* and exit_* parameters", () => {
    expect(parseRange("--entry", "0.01:0.2:0.01")).toEqual({ start: 0.01, stop: 0.2, step: 0.01 });
    expect(parseRange("--exit", " 0 : 1e-1 : .01 ")).toEqual({ start: 0, stop: 0.1, step: 0.01 });
    const flags = new Map([["--entry", "0.01:0.2:0.01"], ["--exit", "0:0.1:0.01"], ["--fee", "0.002"], ["--games", "a, b,,c"]]);
    expect(gridRequest(flags)).toEqual({ entry_start: 0.01, entry_stop: 0.2, entry_step: 0.01, exit_start: 0, exit_stop: 0.1, exit_step: 0.01, fee: 0.002, games: ["a", "b", "c"] });
    expect(simulationRequest(new Map([["--entry", "0.05"], ["--exit", "-1"]]))).toEqual({ entry: 0.05, exit: -1 }); // the daemon judges -1
  });

  test("malformed forms are ConfigErrors (exit 2) naming the flag and the form", () => {
    for (const raw of ["", "1:2", "1:2:3:4", "1::2", "a:b:c", "0x1:1:1", "1:Infinity:1", "1e999:1:1", "1:2:\u0000"]) {
      expect(() => parseRange("--entry", raw)).toThrow(new ConfigError(`invalid --entry ${JSON.stringify(raw)}: must be START:STOP:STEP, three numbers such as 0.01:0.2:0.01`));
    }
    expect(() => simulationRequest(new Map([["--entry", "NaN"], ["--exit", "0"]]))).toThrow('invalid --entry "NaN": must be a number');
    expect(() => checkArgs("jobs", [], new Map([["--server", "http://x"], ["--games", "a"]]))).toThrow("jobs takes no --games");
    expect(() => checkArgs("watch", [], new Map([["--server", "http://x"]]))).toThrow("watch takes one job id (got none)");
    expect(() => checkArgs("grid-search", [], new Map())).toThrow("grid-search needs --server URL");
  });
});

describe("client tables", () => {
  test("columns pad to the widest cell; number columns align right", () => {
    expect(columns([["A", "NUM", "Z"], ["long", "1", "x"], ["s", "1,000", "yy"]], new Set([1]))).toBe("A       NUM  Z\nlong      1  x\ns     1,000  yy");
  });

  test("a grid without a final selection says so; the job list shows hostile names harmlessly", () => {
    expect(gridResultsText({ request_id: "j", games: 0, pairs: [], final_selection: null })).toBe("No final selection (0 pairs over 0 games)");
    const job: JobListing = { request_id: "id-1", kind: "grid_search", status: "running", current: 1, total: 3, created_by: "evil\x1b[2J\nname", created_at: "2026-01-02T03:04:05.000Z", error: null };
    const text = jobsText([job]);
    expect(text.split("\n")).toHaveLength(2);
    expect(text.split("\n")[1]).toBe("id-1  grid_search  running  33% (1/3)  2026-01-02 03:04Z  evil\uFFFD[2J\uFFFDname");
    expect(jobsText([])).toBe("no jobs");
  });
});
