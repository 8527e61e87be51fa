// The terminal client: `gridcast grid-search`, `simulate`, `watch ID` and `jobs` against a running
// daemon (--server). A job is followed over its socket with a progress bar, then its results are
// printed as tables (or, with --json, the results document as the API serves it).
// Exit codes: 0 complete, 1 error or cancelled (or refused, or the daemon unreachable), 2 bad
// arguments, 130 interrupted (Ctrl-C, after asking the daemon to cancel the job).
import { ConfigError } from "../../config/resolve";
import { CommandFailed } from "../import";
import { cancel, daemonOf, listJobs, standing, submit, type Daemon, type Kind } from "./api";
import { checkArgs, gridRequest, limitArg, simulationRequest, type ClientCommand } from "./args";
import { ProgressBar, type Output } from "./progress-bar";
import { followJob, type WireSnapshot } from "./socket";
import { gridResultsText, jobsText, printable, simulationResultsText, type GridResultsDoc, type SimulationResultsDoc } from "./table";

export const EXIT = { complete: 0, failed: 1, badArguments: 2, interrupted: 130 } as const;

export interface ClientIo {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
  /** Milliseconds, for the rate and ETA. */
  now: () => number;
  /** Calls `handler` on the first Ctrl-C (SIGINT) from now on. */
  onInterrupt(handler: () => void): void;
}

/** What a job's progress counts (strategy.md: pairs x games for a grid search, games for a simulation). */
const UNIT: Record<Kind, string> = { "grid-search": "pair-games", simulation: "games" };

interface Run {
  d: Daemon;
  io: ClientIo;
  json: boolean;
  /** Where the bar and notes go: stdout, or stderr when stdout carries the JSON. */
  notes: Output;
  interrupted: Promise<void>;
  wasInterrupted: () => boolean;
}

function startRun(flags: Map<string, string>, io: ClientIo): Run {
  const json = flags.has("--json");
  let hit = false;
  const interrupted = new Promise<void>((resolve) => io.onInterrupt(() => {
    hit = true;
    resolve();
  }));
  return { d: daemonOf(flags, io.env), io, json, notes: json ? io.stderr : io.stdout, interrupted, wasInterrupted: () => hit };
}

async function cancelOnInterrupt(run: Run, id: string): Promise<number> {
  run.io.stderr.write(`cancelling job ${id} ...\n`);
  try {
    run.io.stderr.write(`job ${id}: ${printable(await cancel(run.d, id))}\n`);
  } catch (err) {
    run.io.stderr.write(`gridcast: could not cancel job ${id}: ${printable((err as Error).message)}\n`);
  }
  return EXIT.interrupted;
}

async function printResults(run: Run, kind: Kind, id: string, body: Response): Promise<number> {
  const text = await body.text();
  if (run.json) {
    run.io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    return EXIT.complete;
  }
  const doc = JSON.parse(text);
  run.io.stdout.write(`\n${kind === "grid-search" ? gridResultsText(doc as GridResultsDoc) : simulationResultsText(doc as SimulationResultsDoc)}\n`);
  return EXIT.complete;
}

/** The exit code of a job that ended without results. */
function unfinished(run: Run, id: string, s: Pick<WireSnapshot, "status" | "error">): number {
  const why = s.status === "error" ? `failed: ${s.error ?? "no reason given"}` : `is ${s.status}`;
  run.io.stderr.write(`gridcast: job ${id} ${printable(why)}\n`);
  return EXIT.failed;
}

/** Follows a queued or running job to its end: the bar, then the results (or why there are none). */
async function follow(run: Run, kind: Kind, id: string): Promise<number> {
  if (run.wasInterrupted()) return cancelOnInterrupt(run, id);
  const bar = new ProgressBar(run.notes, { id, unit: UNIT[kind], now: run.io.now });
  const following = followJob(run.d, kind, id, (s) => bar.update(s));
  let end: WireSnapshot | "interrupted";
  try {
    end = await Promise.race([following.done, run.interrupted.then(() => "interrupted" as const)]);
  } finally {
    bar.end();
    following.close();
  }
  if (end === "interrupted") return cancelOnInterrupt(run, id);
  if (end.status !== "complete") return unfinished(run, id, end);
  const now = await standing(run.d, id, [kind]);
  if (!now.found) throw new CommandFailed(`job ${id} is gone from ${run.d.url}`);
  if (!now.complete) return unfinished(run, id, now.snapshot);
  return printResults(run, kind, id, now.body);
}

async function runJob(kind: Kind, flags: Map<string, string>, io: ClientIo): Promise<number> {
  const body = kind === "grid-search" ? gridRequest(flags) : simulationRequest(flags);
  const run = startRun(flags, io);
  const id = await submit(run.d, kind, body);
  run.notes.write(`job ${id} submitted; Ctrl-C cancels it\n`);
  return follow(run, kind, id);
}

async function watch(id: string, flags: Map<string, string>, io: ClientIo): Promise<number> {
  const run = startRun(flags, io);
  const now = await standing(run.d, id);
  if (!now.found) throw new CommandFailed(`no job ${JSON.stringify(id)} on ${run.d.url}`);
  if (now.complete) {
    run.notes.write(`job ${id} (${now.kind}) is complete\n`);
    return printResults(run, now.kind, id, now.body);
  }
  if (now.snapshot.status !== "queued" && now.snapshot.status !== "running") return unfinished(run, id, now.snapshot);
  run.notes.write(`following job ${id} (${now.kind}); Ctrl-C cancels it\n`);
  return follow(run, now.kind, id);
}

async function jobs(flags: Map<string, string>, io: ClientIo): Promise<number> {
  const limit = limitArg(flags);
  const { text, jobs } = await listJobs(daemonOf(flags, io.env), limit);
  io.stdout.write(flags.has("--json") ? `${text}\n` : `${jobsText(jobs)}\n`);
  return EXIT.complete;
}

/** Runs one client command; the exit code. Messages go to stderr as `gridcast: ...`. */
export async function clientCommand(command: ClientCommand, positionals: string[], flags: Map<string, string>, io: ClientIo): Promise<number> {
  try {
    checkArgs(command, positionals, flags);
    switch (command) {
      case "grid-search":
        return await runJob("grid-search", flags, io);
      case "simulate":
        return await runJob("simulation", flags, io);
      case "watch":
        return await watch(positionals[0]!, flags, io);
      case "jobs":
        return await jobs(flags, io);
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof CommandFailed) {
      io.stderr.write(`gridcast: ${printable(err.message)}\n`);
      return err instanceof ConfigError ? EXIT.badArguments : EXIT.failed;
    }
    throw err;
  }
}
