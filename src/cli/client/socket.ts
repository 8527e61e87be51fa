// Follows one job over its socket (protocol.md: `/ws/grid-search/{id}`, `/ws/simulation/{id}`):
// the current state right after the upgrade, then every change, then a close (1000) after the
// terminal state. Any other end before a terminal state is an error the caller reports.
import { isTerminal, type JobSnapshot } from "../../jobs/states";
import { CommandFailed } from "../import";
import type { Daemon, Kind } from "./api";

/** A snapshot as it comes off the wire; `not_found` until the job exists. */
export type WireSnapshot = Omit<JobSnapshot, "status"> & { status: JobSnapshot["status"] | "not_found" };

export interface Following {
  /** The terminal snapshot; rejects (CommandFailed) if the socket ends before one. */
  done: Promise<WireSnapshot>;
  close(): void;
}

export function socketUrl(d: Daemon, kind: Kind, id: string): string {
  return `${d.url.replace(/^http/, "ws")}/ws/${kind}/${encodeURIComponent(id)}`;
}

function parse(data: unknown): WireSnapshot | undefined {
  if (typeof data !== "string") return undefined;
  try {
    const msg = JSON.parse(data) as { type?: unknown; progress?: WireSnapshot };
    return msg.type === "progress" && msg.progress && typeof msg.progress.status === "string" ? msg.progress : undefined;
  } catch {
    return undefined;
  }
}

export function followJob(d: Daemon, kind: Kind, id: string, onProgress: (s: WireSnapshot) => void): Following {
  // Bun takes headers (the bearer token) on the upgrade; the DOM typing of the constructor does not know them.
  const ws = new WebSocket(socketUrl(d, kind, id), { headers: d.headers } as never);
  let last: WireSnapshot | undefined;
  let opened = false;
  const done = new Promise<WireSnapshot>((resolve, reject) => {
    ws.addEventListener("open", () => {
      opened = true;
    });
    ws.addEventListener("message", (ev) => {
      const snap = parse(ev.data);
      if (!snap) return;
      last = snap;
      onProgress(snap);
      if (isTerminal(snap.status)) resolve(snap);
    });
    ws.addEventListener("close", (ev) => {
      if (last && isTerminal(last.status)) return resolve(last);
      const why = ev.reason ? `${ev.code} ${ev.reason}` : String(ev.code);
      reject(new CommandFailed(opened
        ? `the job's socket closed (${why}) before the job finished; follow it again with gridcast watch ${id}`
        : `could not open the job's socket at ${socketUrl(d, kind, id)} (${why})`));
    });
  });
  // Resolved or rejected, the caller's promise is what reports; this one must not go unhandled.
  done.catch(() => {});
  return { done, close: () => ws.close(1000) };
}
