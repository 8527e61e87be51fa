// Topics across nodes, as users meet them (cluster.md): three daemons as child processes on one
// PostgreSQL (a database of the test's own). Ticks of one game ingested alternately on A and B
// reach a `signals` and a `live:{game}` subscriber on C, each signal and each tick exactly once and
// in order, `settled` last. A token made on A works on C; a session ended on B closes its socket on
// A, and so does revoking a token on B. Junk on the cluster channel from another process is
// ignored and counted, and the node goes on.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { BUS_CHANNEL } from "../../src/cluster/pg-bus";
import { launchDaemon, waitHealthy, type Daemon } from "../support/daemon";
import { eventually } from "../support/eventually";
import { scratchDatabase } from "../support/migrations";
import { randomGames } from "../support/reference";
import { Client, closeAll, ofType, type Json } from "../realtime/harness";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const SHORT = ["--heartbeat-ms", "100", "--lease-ms", "500", "--workers", "1", "--cluster-flush-ms", "10"];
const NDJSON = { "content-type": "application/x-ndjson" };
const nd = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const dir = () => join(mkdtempSync(join(tmpdir(), "gridcast-topics-")), "data");
const ws = (d: Daemon) => `${d.url.replace("http", "ws")}/ws`;

const running: Daemon[] = [];
async function daemon(id: string, url: string, flags: string[] = []): Promise<Daemon> {
  const d = await launchDaemon(dir(), [...SHORT, "--node-id", id, ...flags], { DATABASE_URL: url });
  running.push(d);
  await waitHealthy(d.url);
  return d;
}
afterAll(async () => {
  await closeAll();
  for (const d of running) if (d.proc.exitCode === null) d.proc.kill("SIGKILL");
});

async function subscribe(d: Daemon, topic: string, headers?: Record<string, string>): Promise<Client> {
  const c = await Client.connect(ws(d), headers);
  await c.next(ofType("welcome"));
  c.send({ type: "subscribe", topic });
  const reply = await c.next((m) => m.type === "subscription_confirmed" || m.type === "error");
  if (reply.type === "error") throw new Error(`subscribe ${topic}: ${reply.message}`);
  return c;
}

/** `gridcast token create` straight on the database: its id and secret. */
async function cliToken(url: string, role: string): Promise<{ id: string; token: string }> {
  const proc = Bun.spawn([process.execPath, MAIN, "token", "create", "--name", `cli-${role}`, "--role", role, "--tier", "pro"], {
    env: { ...process.env, DATABASE_URL: url }, stdout: "pipe", stderr: "pipe",
  });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  const lines = out.trim().split("\n").map((l) => l.trim());
  return { id: lines.find((l) => l.startsWith("tok_"))!, token: lines.find((l) => l.startsWith("gct_"))! };
}

const pgUrl = process.env.DATABASE_URL;
describe.skipIf(!pgUrl)("topics across daemons on one PostgreSQL", () => {
  test("ticks ingested alternately on A and B: C's signals and live:{game} subscribers get each signal and tick once, in order, settled last", async () => {
    const scratch = await scratchDatabase("gridcast_topics");
    try {
      const a = await daemon("node-a", scratch.url);
      const b = await daemon("node-b", scratch.url);
      const c = await daemon("node-c", scratch.url);
      for (const [entry, exit] of [[0.02, 0.005], [0.01, 0]]) {
        const r = await fetch(`${a.url}/api/strategies`, { method: "POST", body: JSON.stringify({ name: `s${entry}`, entry, exit, fee: 0 }) });
        expect(r.status).toBe(201);
      }
      const signalsC = await subscribe(c, "signals");
      const signalsB = await subscribe(b, "signals");
      const { games } = randomGames(1, 7);
      const game = games[0];
      const ticks = game.ticks.map((tk) => ({ game_id: game.id, t: tk.t, price: tk.price, fair: tk.fair }));
      const post = async (d: Daemon, rows: object[]) => {
        const r = await fetch(`${d.url}/api/live/ticks`, { method: "POST", headers: NDJSON, body: nd(rows) });
        expect(r.status).toBe(200);
      };
      // The game starts on A; C knows it once A's message came (then its topic resolves there).
      await post(a, ticks.slice(0, 2));
      const liveC = await eventually(() => subscribe(c, `live:${game.id}`), { what: "C to know the game A started" });
      const BATCH = 3;
      for (let i = 2, k = 1; i < ticks.length; i += BATCH, k++) await post(k % 2 === 0 ? a : b, ticks.slice(i, i + BATCH));
      const settle = await fetch(`${b.url}/api/live/games/${encodeURIComponent(game.id)}/settle`, { method: "POST", body: JSON.stringify({ outcome: game.outcome }) });
      expect(settle.status).toBe(200);

      const stored = (await (await fetch(`${a.url}/api/signals?limit=1000`)).json()).signals as Json[];
      expect(stored.length).toBeGreaterThan(4);
      for (const [name, sub] of [["C", signalsC], ["B", signalsB]] as const) {
        const got = await eventually(() => { const s = sub.inbox.filter(ofType("signal")); return s.length >= stored.length && s; }, { what: `${name}'s ${stored.length} signals` });
        await sub.sync();
        expect(sub.inbox.filter(ofType("signal")).length).toBe(stored.length); // nothing twice
        expect(got.map((m) => m.signal)).toEqual(stored);
        expect(got.map((m) => m.seq)).toEqual(stored.map((_, k) => k + 1));
      }
      // live:{game} on C: the snapshot and the batches after it, every tick once and in order, then settled.
      await eventually(() => liveC.inbox.some(ofType("settled")), { what: "settled on C's live:{game}" });
      const batches = liveC.inbox.filter((m) => m.type === "ticks" && m.game_id === game.id);
      expect(batches.flatMap((m) => m.ticks)).toEqual(game.ticks.map((tk) => [tk.t, tk.price, tk.fair]));
      const seqs = batches.map((m) => m.seq);
      for (let k = 1; k < seqs.length; k++) expect(seqs[k]).toBe(seqs[k - 1] + 1);
      expect(liveC.inbox.findIndex(ofType("settled"))).toBeGreaterThan(liveC.inbox.lastIndexOf(batches[batches.length - 1]));
      // `live` on C no longer lists it.
      const liveState = await subscribe(c, "live");
      const live = await liveState.next(ofType("live"));
      expect(live.games.map((g: Json) => g.game_id)).not.toContain(game.id);
      const health = await (await fetch(`${a.url}/health`)).json();
      expect(health.cluster.bus).toMatchObject({ listening: true, dropped: 0 });
    } finally {
      await closeAll();
      for (const d of running.splice(0)) if (d.proc.exitCode === null) { d.proc.kill("SIGTERM"); await d.proc.exited; }
      await scratch.drop();
    }
  });

  test("a token made on A works on C; a session ended on B closes its socket on A; a token revoked on B closes its sockets on A", async () => {
    const scratch = await scratchDatabase("gridcast_topics");
    try {
      const a = await daemon("node-a", scratch.url, ["--auth", "on"]);
      const b = await daemon("node-b", scratch.url, ["--auth", "on"]);
      const c = await daemon("node-c", scratch.url, ["--auth", "on"]);
      const root = await cliToken(scratch.url, "admin");
      const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
      const made = await fetch(`${a.url}/api/tokens`, { method: "POST", headers: { ...bearer(root.token), origin: a.url }, body: JSON.stringify({ name: "viewer-on-a", role: "viewer", tier: "pro" }) });
      expect(made.status).toBe(201);
      const viewer = (await made.json()) as { id: string; token: string };
      expect((await fetch(`${c.url}/api/jobs`, { headers: bearer(viewer.token) })).status).toBe(200);

      // A browser signs in on C; its cookie opens a socket on A; it signs out on B.
      const login = await fetch(`${c.url}/login`, {
        method: "POST", redirect: "manual", body: new URLSearchParams({ token: viewer.token }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", origin: c.url },
      });
      expect(login.status).toBe(303);
      const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
      const page = await (await fetch(`${b.url}/`, { headers: { cookie } })).text();
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
      expect(csrf).toBeDefined();
      const browserOnA = await subscribe(a, "signals", { cookie, origin: a.url });
      const bearerOnA = await subscribe(a, "signals", bearer(viewer.token));
      const logout = await fetch(`${b.url}/logout`, {
        method: "POST", redirect: "manual", body: new URLSearchParams({ _csrf: csrf! }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", origin: b.url, cookie },
      });
      expect(logout.status).toBe(303);
      expect((await browserOnA.closed).code).toBe(4001);
      expect(bearerOnA.isClosed).toBe(false); // the token still lives: only the session ended
      expect((await fetch(`${a.url}/api/jobs`, { headers: { cookie } })).status).toBe(401);

      // A second session of the token, on A; the token revoked on B: both its sockets on A close.
      const again = await fetch(`${a.url}/login`, {
        method: "POST", redirect: "manual", body: new URLSearchParams({ token: viewer.token }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", origin: a.url },
      });
      const cookie2 = (again.headers.get("set-cookie") ?? "").split(";")[0]!;
      const browser2 = await subscribe(a, "signals", { cookie: cookie2, origin: a.url });
      const revoke = await fetch(`${b.url}/api/tokens/${viewer.id}`, { method: "DELETE", headers: { ...bearer(root.token), origin: b.url } });
      expect(revoke.status).toBe(204);
      expect((await bearerOnA.closed).code).toBe(4001);
      expect((await browser2.closed).code).toBe(4001);
      // C hears the same message as A, on its own time: the token is refused there within 1 s.
      await eventually(async () => (await fetch(`${c.url}/api/jobs`, { headers: bearer(viewer.token) })).status === 401,
        { timeoutMs: 1_000, intervalMs: 20, what: "the revoked token refused on C" });
    } finally {
      await closeAll();
      for (const d of running.splice(0)) if (d.proc.exitCode === null) { d.proc.kill("SIGTERM"); await d.proc.exited; }
      await scratch.drop();
    }
  });

  test("junk on the cluster channel from another process is ignored and counted; the node stays up and its topics still cross", async () => {
    const scratch = await scratchDatabase("gridcast_topics");
    const raw = postgres(scratch.url, { max: 1, onnotice: () => {} });
    try {
      const a = await daemon("node-a", scratch.url);
      const b = await daemon("node-b", scratch.url);
      const junk = [
        "not json", "[]", '{"from":"x","m":"y"}', `{"from":"evil","m":[${Array(500).fill("7").join(",")}]}`, "\u00ff".repeat(3900),
        // Well-formed envelopes with hostile fields: each handler checks its own and ignores these.
        JSON.stringify({ from: "evil", m: [
          { t: "signals", seq: "1e309" }, { t: "signals", seq: -1 }, { t: "ticks", game: "x".repeat(5000), n: 1 }, { t: "ticks", game: {}, n: 1e300 },
          { t: "settled", game: "g", outcome: 7 }, { t: "strategy", id: "drop table" }, { t: "token-revoked", id: "'; --" }, { t: "session-revoked", id: 42 },
        ] }),
      ];
      for (const p of junk) await raw`select pg_notify(${BUS_CHANNEL}, ${p})`;
      const health = await eventually(async () => { const h = await (await fetch(`${b.url}/health`)).json(); return h.cluster.bus.rejected >= 504 && h; }, { what: "B to count the junk" });
      expect(health.status).toBe("ok");
      expect(health.cluster.bus.listening).toBe(true);
      // Still crossing: a strategy and a tick on A reach B's signals topic.
      await fetch(`${a.url}/api/strategies`, { method: "POST", body: JSON.stringify({ name: "s", entry: 0.0001, exit: 0, fee: 0 }) });
      const sub = await subscribe(b, "signals");
      await fetch(`${a.url}/api/live/ticks`, { method: "POST", headers: NDJSON, body: nd([{ game_id: "j1", t: 1, price: 0.2, fair: 0.5 }]) });
      const got = await sub.next(ofType("signal"), 10_000);
      expect(got.signal).toMatchObject({ game_id: "j1", action: "open_long" });
    } finally {
      await raw.end();
      await closeAll();
      for (const d of running.splice(0)) if (d.proc.exitCode === null) { d.proc.kill("SIGTERM"); await d.proc.exited; }
      await scratch.drop();
    }
  });
});
