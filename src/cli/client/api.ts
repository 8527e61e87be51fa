// The job API of a running daemon as the terminal client calls it (protocol.md "Job progress"):
// submit, cancel, list, and a job's results, which also tell which kind a job is. A refusal is a
// CommandFailed (exit 1) carrying the daemon's own message; a 422 on a submission is the daemon
// judging the arguments, so it is a ConfigError (exit 2).
import { ConfigError } from "../../config/resolve";
import { isJobId } from "../../jobs/ids";
import type { JobSnapshot } from "../../jobs/states";
import { CommandFailed } from "../import";
import { authHeader, serverUrl } from "../server";

export type Kind = "grid-search" | "simulation";

export interface Daemon {
  url: string;
  headers: Record<string, string>;
}

export function daemonOf(flags: Map<string, string>, env?: Record<string, string | undefined>): Daemon {
  return { url: serverUrl(flags.get("--server")!), headers: authHeader(flags, env) };
}

async function call(d: Daemon, method: string, path: string, body?: unknown): Promise<Response> {
  try {
    return await fetch(`${d.url}${path}`, {
      method, redirect: "manual",
      headers: { ...d.headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new CommandFailed(`--server ${d.url} does not answer: ${(err as Error).message}`);
  }
}

async function detailOf(res: Response): Promise<string> {
  const json = (await res.json().catch(() => ({}))) as { detail?: unknown };
  return typeof json.detail === "string" ? json.detail : res.statusText || "refused";
}

async function refused(res: Response): Promise<never> {
  throw new CommandFailed(`${res.status}: ${await detailOf(res)}`);
}

/** Starts a job; its id. */
export async function submit(d: Daemon, kind: Kind, body: Record<string, unknown>): Promise<string> {
  const res = await call(d, "POST", `/api/${kind}/run`, body);
  if (res.status === 422) throw new ConfigError(await detailOf(res));
  if (!res.ok) return refused(res);
  const id = ((await res.json()) as { request_id?: unknown }).request_id;
  if (!isJobId(id)) throw new CommandFailed(`${d.url} answered the submission without a job id`);
  return id;
}

/** Asks the daemon to cancel a job: the state it left the job in, or why it did not. */
export async function cancel(d: Daemon, id: string): Promise<string> {
  const res = await call(d, "POST", `/api/jobs/${encodeURIComponent(id)}/cancel`);
  const json = (await res.json().catch(() => ({}))) as { status?: unknown; detail?: unknown };
  if (res.ok || res.status === 409) return String(json.status ?? "unknown");
  throw new CommandFailed(`${res.status}: ${typeof json.detail === "string" ? json.detail : res.statusText}`);
}

export interface JobListing {
  request_id: string;
  kind: string;
  status: string;
  current: number;
  total: number;
  created_by: string | null;
  created_at: string;
  error: string | null;
}

export async function listJobs(d: Daemon, limit?: number): Promise<{ text: string; jobs: JobListing[] }> {
  const res = await call(d, "GET", `/api/jobs${limit === undefined ? "" : `?limit=${limit}`}`);
  if (res.status === 422) throw new ConfigError(await detailOf(res));
  if (!res.ok) return refused(res);
  const text = await res.text();
  return { text, jobs: (JSON.parse(text) as { jobs: JobListing[] }).jobs };
}

/**
 * A job's results, or where it stands when it has none (yet). The results routes are the one
 * place a job's kind shows (each answers 404 for the other kind), so `watch ID` asks both.
 */
export type Standing =
  | { found: false }
  | { found: true; kind: Kind; complete: true; body: Response }
  | { found: true; kind: Kind; complete: false; snapshot: Pick<JobSnapshot, "status" | "error"> };

export async function standing(d: Daemon, id: string, kinds: Kind[] = ["grid-search", "simulation"]): Promise<Standing> {
  for (const kind of kinds) {
    const res = await call(d, "GET", `/api/${kind}/results/${encodeURIComponent(id)}`);
    if (res.status === 404) {
      await res.body?.cancel();
      continue;
    }
    if (res.ok) return { found: true, kind, complete: true, body: res };
    if (res.status !== 409) return refused(res);
    const json = (await res.json().catch(() => ({}))) as { status?: unknown; error?: unknown };
    const status = String(json.status ?? "queued") as JobSnapshot["status"];
    return { found: true, kind, complete: false, snapshot: { status, ...(typeof json.error === "string" ? { error: json.error } : {}) } };
  }
  return { found: false };
}
