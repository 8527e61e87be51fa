// What access costs, in one run (issue 11): requests/s of GET /api/jobs and WebSocket upgrades/s
// with auth off, with a bearer token and with a session cookie, each against the same kind of
// daemon (a child process on PGlite), as ratios to auth off measured in the same run; and memory
// per idle connection, auth off against an authenticated one. Loopback only, every loop bounded.
// Usage: bun scripts/bench-access.ts [seconds per phase, default 4] [idle sockets, default 2000]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchDaemon, waitHealthy, type Daemon } from "../test/support/daemon.ts";

const SECONDS = Math.max(1, Math.min(30, Number(process.argv[2] ?? 4)));
const IDLE = Math.max(100, Math.min(5000, Number(process.argv[3] ?? 2000)));
const CONCURRENCY = 16;
const MAIN = join(import.meta.dir, "../src/main.ts");

async function tokenFor(dataDir: string, role: string): Promise<string> {
  const p = Bun.spawn([process.execPath, MAIN, "token", "create", "--name", `bench-${role}`, "--role", role, "--data-dir", dataDir], {
    env: { ...process.env, DATABASE_URL: "" }, stdout: "pipe", stderr: "pipe",
  });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`token create failed: ${await new Response(p.stderr).text()}`);
  return out.split("\n").map((l) => l.trim()).find((l) => l.startsWith("gct_"))!;
}

async function daemon(auth: "on" | "off"): Promise<{ d: Daemon; dataDir: string; token?: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), `gridcast-bench-access-${auth}-`));
  const token = auth === "on" ? await tokenFor(dataDir, "admin") : undefined;
  const d = await launchDaemon(dataDir, ["--auth", auth, "--rate-jobs-per-min", "1000000", "--rate-imports-per-min", "1000000", "--rate-login-per-min", "1000000"]);
  await waitHealthy(d.url);
  return { d, dataDir, token };
}

/** As many requests as CONCURRENCY loops complete in SECONDS; every answer must be a 200. */
async function requestsPerSecond(url: string, headers: Record<string, string>): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const res = await fetch(url, { headers });
      if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
      await res.arrayBuffer();
      done++;
    }
  }));
  return done / SECONDS;
}

function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers } as never);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`socket ${url} failed`));
  });
}

/** Upgrades (open, first message, close) per second over CONCURRENCY loops. */
async function upgradesPerSecond(url: string, headers: Record<string, string>): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const ws = await openSocket(url, headers);
      await new Promise<void>((r) => { ws.onmessage = () => r(); });
      ws.close();
      done++;
    }
  }));
  return done / SECONDS;
}

function rssKb(pid: number): number {
  const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

/** RSS growth per idle socket, opened in batches on the update-status topic. */
async function memoryPerConnection(d: Daemon, wsUrl: string, headers: Record<string, string>): Promise<number> {
  const open: WebSocket[] = [];
  await Bun.sleep(500);
  const before = rssKb(d.proc.pid);
  for (let i = 0; i < IDLE; i += 100) open.push(...(await Promise.all(Array.from({ length: Math.min(100, IDLE - i) }, () => openSocket(wsUrl, headers)))));
  await Bun.sleep(1000);
  const after = rssKb(d.proc.pid);
  for (const ws of open) ws.close();
  return (after - before) / IDLE;
}

const off = await daemon("off");
const on = await daemon("on");
try {
  const login = await fetch(`${on.d.url}/login`, {
    method: "POST", redirect: "manual", body: new URLSearchParams({ token: on.token! }), headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  if (!cookie.startsWith("gridcast_session=")) throw new Error(`login gave no session cookie (${login.status})`);
  const identities: [string, string, Record<string, string>][] = [
    ["auth off", off.d.url, {}],
    ["bearer token", on.d.url, { authorization: `Bearer ${on.token}` }],
    ["session cookie", on.d.url, { cookie }],
  ];
  // Two rounds, the second in reverse order, best of the two: the first phase of a run also warms
  // the JIT, and a shared machine's noise comes and goes.
  const best = new Map<string, { http: number; ws: number }>();
  for (const order of [identities, [...identities].reverse()]) {
    for (const [label, url, headers] of order) {
      const http = await requestsPerSecond(`${url}/api/jobs?limit=5`, headers);
      const ws = await upgradesPerSecond(`${url.replace("http", "ws")}/ws/update/status`, headers);
      const was = best.get(label) ?? { http: 0, ws: 0 };
      best.set(label, { http: Math.max(was.http, http), ws: Math.max(was.ws, ws) });
    }
  }
  const base = best.get("auth off")!;
  const rows = identities.map(([label]) => {
    const { http, ws } = best.get(label)!;
    return `| ${label} | ${http.toFixed(0)} | ${(http / base.http).toFixed(2)}x | ${ws.toFixed(0)} | ${(ws / base.ws).toFixed(2)}x |`;
  });
  console.log(`| identity | GET /api/jobs req/s | vs off | WS upgrades/s | vs off |\n|---|---|---|---|---|\n${rows.join("\n")}`);
  const memOff = await memoryPerConnection(off.d, `${off.d.url.replace("http", "ws")}/ws/update/status`, {});
  const memOn = await memoryPerConnection(on.d, `${on.d.url.replace("http", "ws")}/ws/update/status`, { authorization: `Bearer ${on.token}` });
  console.log(`memory per idle connection (${IDLE} sockets, RSS growth): auth off ${memOff.toFixed(2)} KB, bearer ${memOn.toFixed(2)} KB (+${(memOn - memOff).toFixed(2)} KB)`);
} finally {
  for (const x of [off, on]) {
    x.d.proc.kill("SIGTERM");
    await x.d.proc.exited;
  }
}
