// The dashboard's topic: recent and running jobs and a one-line health, kept current from the
// job topics the hub publishes. Its state is a plain snapshot; the page format renders it once
// per tick for every open dashboard. Health is refreshed every few seconds, and only while a
// dashboard watches (the timer stops itself when nobody does).
import type { Database } from "../db/database";
import * as repo from "../jobs/repository";
import { isActive } from "../jobs/states";
import type { JobScheduler } from "../jobs/scheduler";
import { jobIdOf, type Hub, type PublishEvent } from "../realtime";
import type { HealthSources } from "../server/health";
import type { DashboardJobView, HealthLine } from "../../views/pages/dashboard";

export const DASHBOARD_TOPIC = "pages:dashboard";

/** A job as the dashboard lists it: the view's row without the timing the page renderer adds. */
export type DashboardJob = Omit<DashboardJobView, "rate" | "etaMs">;
export type HealthLineView = HealthLine;

export interface DashboardState {
  jobs: DashboardJob[];
  health: HealthLineView;
  [key: string]: unknown;
}

export interface DashboardFeedDeps {
  hub: Hub;
  database: () => Database;
  scheduler: JobScheduler;
  health: HealthSources;
  /** Finished jobs listed (running and queued ones are always listed). */
  recent?: number;
  healthEveryMs?: number;
}


export function healthLine(h: HealthSources): HealthLineView {
  const db = h.database();
  const w = h.workers();
  return {
    database: { kind: db.kind, healthy: db.state === "open", state: db.state },
    workers: { size: Number(w.size ?? 0), busy: Number(w.busy ?? 0), healthy: !!w.healthy },
    connections: Number(h.websocket().activeConnections ?? 0),
  };
}

export class DashboardFeed {
  private readonly jobs = new Map<string, DashboardJob>();
  private loaded: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly recent: number;

  constructor(private readonly deps: DashboardFeedDeps) {
    this.recent = deps.recent ?? 10;
  }

  /** The jobs, newest first: every active one and the most recent finished ones. */
  list(): DashboardJob[] {
    const all = [...this.jobs.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
    let finished = 0;
    return all.filter((j) => isActive(j.status) || finished++ < this.recent);
  }

  state(): DashboardState {
    return { jobs: this.list(), health: healthLine(this.deps.health) };
  }

  /** Loads recent jobs from the database once (first dashboard view after start); publishes. */
  async ensureLoaded(): Promise<void> {
    this.loaded ??= (async () => {
      const rows = await repo.recentJobs(this.deps.database(), this.recent + 20);
      for (const r of rows) {
        if (this.jobs.has(r.id)) continue;
        const live = this.deps.scheduler.snapshot(r.id);
        this.jobs.set(r.id, {
          id: r.id, kind: r.kind, status: live?.status ?? r.state, current: live?.current ?? r.current, total: r.total,
          current_combo: live?.current_combo ?? r.currentCombo, created_at: r.createdAt.toISOString(),
        });
      }
      this.trim();
      this.publish();
    })().catch((err) => {
      this.loaded = null; // the database may not be open yet: try again on the next view
      throw err;
    });
    return this.loaded;
  }

  /** From hub.onPublish: a job's state changed. */
  onPublish(e: PublishEvent): void {
    const id = jobIdOf(e.topic);
    if (id === undefined) return;
    const s = e.state as Partial<DashboardJob>;
    let j = this.jobs.get(id);
    if (!j) {
      if (s.status === "not_found") return;
      j = { id, kind: "job", status: "queued", current: 0, total: 0, current_combo: "", created_at: new Date().toISOString() };
      this.jobs.set(id, j);
      void this.describe(id);
      this.trim();
    }
    j.status = String(s.status ?? j.status);
    j.current = Number(s.current ?? j.current);
    j.total = Number(s.total ?? j.total);
    j.current_combo = String(s.current_combo ?? j.current_combo);
    this.publish();
  }

  /** A dashboard was opened (or polled): keep its health line fresh while any is watching. */
  watch(): void {
    if (this.timer) return;
    let idle = 0;
    this.timer = setInterval(() => {
      if (!this.deps.hub.hasSubscribers(DASHBOARD_TOPIC)) {
        if (++idle >= 3) this.stop();
        return;
      }
      idle = 0;
      this.publish();
    }, this.deps.healthEveryMs ?? 2000);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  publish(): void {
    this.deps.hub.set(DASHBOARD_TOPIC, this.state());
  }

  /** Kind and submission time of a job first seen on its topic. */
  private async describe(id: string): Promise<void> {
    try {
      const row = await repo.getJob(this.deps.database(), id);
      const j = this.jobs.get(id);
      if (!row || !j) return;
      j.kind = row.kind;
      j.created_at = row.createdAt.toISOString();
      this.publish();
    } catch {
      // The row is written before the first publish; a failed read only leaves the kind generic.
    }
  }

  private trim(): void {
    if (this.jobs.size <= this.recent * 3 + 50) return;
    const keep = new Set(this.list().map((j) => j.id));
    for (const id of this.jobs.keys()) if (!keep.has(id)) this.jobs.delete(id);
  }
}
