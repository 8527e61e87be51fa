// Keeps one node's run of a cluster job supplied with units (cluster.md): claims a few rows of
// job_claims whenever the units granted to the pool run low, one claim statement at a time, and
// looks again now and then when none were free (a dead node's claims come free after its lease).
// The pool does the rest: granted units go to workers by its fair share between jobs.
import type { JobHandle } from "../compute/pool";
import type { Database } from "../db/database";
import type { Logger } from "../log/logger";
import type { Clock } from "../realtime/transport";
import { claimUnits, type Claimant } from "./job-claims";

export interface FeederDeps {
  database: () => Database;
  clock: Clock;
  who: () => Claimant;
  /** Units to keep granted and not yet on a worker: the pool's in-flight depth, so no worker waits. */
  depth: number;
  /** How often to look for free units again after a claim found none. */
  retryMs: number;
  logger: Logger;
}

export class UnitFeeder {
  private claiming: Promise<void> | undefined;
  private timer: unknown;
  private stopped = false;
  /** The last claim found nothing free: the job's units are all claimed or stored. */
  exhausted = false;
  claims = 0;
  claimed = 0;

  constructor(private readonly jobId: string, private readonly handle: Pick<JobHandle, "grant" | "outstanding">, private readonly deps: FeederDeps) {}

  /** Tops up now if the granted units ran low (the pool's onHandout, and once at start). */
  wake(): void {
    if (this.stopped || this.claiming) return;
    const { waiting } = this.handle.outstanding();
    if (waiting >= this.deps.depth) return;
    this.claiming = this.claim(this.deps.depth * 2 - waiting).then((granted) => {
      this.claiming = undefined;
      // Workers took units while the claim ran (their hand-outs found it running): look again.
      if (granted) this.wake();
    });
  }

  /** Settles when no claim statement is running any more. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.clock.clearTimeout(this.timer);
    await this.claiming;
  }

  /** True when units were granted; never rejects. */
  private async claim(limit: number): Promise<boolean> {
    try {
      const units = await claimUnits(this.deps.database(), this.jobId, this.deps.who(), limit);
      this.claims++;
      this.claimed += units.length;
      if (this.stopped) return false;
      this.exhausted = units.length === 0;
      if (units.length > 0) {
        this.handle.grant(units);
        return true;
      }
    } catch (err) {
      // The store is away: the units granted go on; look again after the pause.
      this.deps.logger.warn("claiming units failed", { job: this.jobId, error: (err as Error).message });
    }
    this.deps.clock.clearTimeout(this.timer);
    this.timer = this.deps.clock.setTimeout(() => this.wake(), this.deps.retryMs);
    return false;
  }
}
