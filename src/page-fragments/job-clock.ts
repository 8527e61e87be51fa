// Timing of jobs as the pages show it: when each started, how fast it goes now and when it
// should end. Fed with every job snapshot the hub publishes; read by the page renderers.
import { isTerminal } from "../jobs/states";

export interface JobTiming {
  elapsedMs?: number;
  /** Evaluations per second over the last WINDOW_MS (or since start when shorter). */
  rate?: number;
  etaMs?: number;
}

interface Track {
  startedAt?: number;
  endedAt?: number;
  /** (time, current) samples, oldest first, at most one per SAMPLE_MS, covering WINDOW_MS. */
  samples: [number, number][];
}

const WINDOW_MS = 5000;
const SAMPLE_MS = 100;

export class JobClock {
  private readonly jobs = new Map<string, Track>();

  constructor(private readonly maxJobs = 2000) {}

  /** A job's snapshot was published at `now` (ms). */
  observe(id: string, state: { status?: unknown; current?: unknown }, now: number): void {
    const t = this.track(id);
    const status = String(state.status ?? "");
    const current = Number(state.current ?? 0);
    if (status === "running") {
      t.startedAt ??= now;
      t.endedAt = undefined;
      const last = t.samples.at(-1);
      if (!last || now - last[0] >= SAMPLE_MS) t.samples.push([now, current]);
      else last[1] = current;
      while (t.samples.length > 2 && now - t.samples[1][0] >= WINDOW_MS) t.samples.shift();
    } else if (isTerminal(status)) {
      t.endedAt ??= now;
      t.samples.length = 0;
    }
  }

  /** What the database knows (a page load of a job this process did not watch start). */
  seed(id: string, startedAt: Date | null | undefined, finishedAt: Date | null | undefined): void {
    const t = this.track(id);
    if (startedAt && t.startedAt === undefined) t.startedAt = startedAt.getTime();
    if (finishedAt && t.endedAt === undefined) t.endedAt = finishedAt.getTime();
  }

  timing(id: string, current: number, total: number, now: number): JobTiming {
    const t = this.jobs.get(id);
    if (!t || t.startedAt === undefined) return {};
    const elapsedMs = (t.endedAt ?? now) - t.startedAt;
    const first = t.samples[0], last = t.samples.at(-1);
    if (!first || !last || last[0] - first[0] < 200) return { elapsedMs };
    const rate = ((last[1] - first[1]) / (last[0] - first[0])) * 1000;
    if (!(rate > 0)) return { elapsedMs, rate: 0 };
    return { elapsedMs, rate, etaMs: (Math.max(0, total - current) / rate) * 1000 };
  }

  private track(id: string): Track {
    let t = this.jobs.get(id);
    if (t) return t;
    t = { samples: [] };
    this.jobs.set(id, t);
    // Oldest first in insertion order: forget the oldest when too many are tracked.
    if (this.jobs.size > this.maxJobs) this.jobs.delete(this.jobs.keys().next().value as string);
    return t;
  }
}
