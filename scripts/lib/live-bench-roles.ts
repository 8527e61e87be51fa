// The child processes of scripts/bench-live.ts, one role each (the first argument): a throughput
// measurement on a fresh database, a gridcast server, or a process of /ws clients. Driven over
// IPC by the parent (scripts/lib/bench-children.ts); clocks joined across processes as
// performance.timeOrigin + performance.now().
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseKind } from "../../src/db/database";
import { benchDatabase } from "./bench-database";
import { serveCommands, type Msg } from "./bench-children";
import { LatencyHist } from "./latency-hist";
import { generateWaves, importCsv, strategyParams, streamSteps, type StreamShape } from "./live-games";

const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------
// Part 1, in a child: one measurement on a fresh database.
async function throughputRole(): Promise<void> {
  serveCommands({
    async import(m) {
      const { importGames } = await import("../../src/games/import");
      const limits = { maxBytes: 1e12, maxGames: 1e7, maxTicksPerGame: 1e8 };
      const database = await benchDatabase(m.kind, m.pgUrl);
      try {
        // A small file first, so the parser and the statements are warm as the ingest's are.
        const warm = importCsv(generateWaves(m.shape.batchTicks, m.shape, "warm-", 2), m.shape, m.shape.batchTicks);
        await importGames(database, new Blob([warm]).stream() as never, { format: "csv", limits });
        const csv = importCsv(generateWaves(m.ticks, m.shape, "g-"), m.shape, m.ticks);
        const t0 = performance.now();
        const r = await importGames(database, new Blob([csv]).stream() as never, { format: "csv", limits });
        return { ticks: r.ticks, ms: performance.now() - t0 };
      } finally {
        await database.close();
      }
    },
    async ingest(m) {
      const { ingestTicks } = await import("../../src/live/ingest");
      const { settleGame } = await import("../../src/live/settle");
      const { createStrategy } = await import("../../src/live/strategies");
      const shape: StreamShape = m.shape;
      const database = await benchDatabase(m.kind, m.pgUrl);
      try {
        for (const p of strategyParams(m.strategies)) await createStrategy(database, p, null);
        // One warm-up wave's first requests, settled, untimed.
        const warm = generateWaves(shape.batchTicks * 2, shape, "warm-", 2);
        for (const step of streamSteps(warm, shape, shape.batchTicks * 2)) await ingestTicks(database, step.ticks);
        for (const g of warm[0]) await settleGame(database, g.id, g.outcome);
        const waves = generateWaves(m.ticks, shape, "g-");
        const batches = new LatencyHist();
        const deadline = performance.now() + m.maxMs;
        let ticks = 0, signals = 0, ms = 0, settleMs = 0, settled = 0, settleSignals = 0;
        for (const step of streamSteps(waves, shape, m.ticks)) {
          const t0 = performance.now();
          const r = await ingestTicks(database, step.ticks);
          const dt = performance.now() - t0;
          ms += dt;
          batches.record(dt);
          ticks += r.ticks;
          signals += r.signals.length;
          const t1 = performance.now();
          for (const g of step.ended) settleSignals += (await settleGame(database, g.id, g.outcome)).signals.length;
          settled += step.ended.length;
          settleMs += performance.now() - t1;
          if (performance.now() > deadline) break;
        }
        return { ticks, ms, signals, batchP50: batches.quantile(0.5), batchP99: batches.quantile(0.99), settled, settleMs, settleSignals };
      } finally {
        await database.close();
      }
    },
    stop() {
      setTimeout(() => process.exit(0), 20);
    },
  });
  process.send!({ ev: "ready" });
}

// ---------------------------------------------------------------------------------------------
// Parts 2-4: the server, in a child of its own (its CPU is its own; the load comes from elsewhere).
async function serverRole(): Promise<void> {
  let server: Awaited<ReturnType<typeof import("../../src/server/lifecycle").startServer>> | undefined;
  let dataDir = "";
  /** Per seq of `signals`: when this process saw the hub publish it (this clock, not the hub's), and the signal's key. */
  const published = new Map<number, [number, string]>();
  serveCommands({
    async start(m) {
      const { parseArgs: cliArgs, resolveConfig } = await import("../../src/config/resolve");
      const { SETTINGS } = await import("../../src/config/settings");
      const { createLogger } = await import("../../src/log/logger");
      // The server's errors, the first few: a failed request's reason is only in its log.
      let logged = 0;
      const logger = createLogger({ format: "text", level: "error", write: (line) => void (logged++ < 5 && process.stderr.write(`  server: ${line.slice(0, 400)}\n`)) });
      const { startServer } = await import("../../src/server/lifecycle");
      dataDir = mkdtempSync(join(tmpdir(), "gridcast-bench-live-srv-"));
      const args = [
        "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--workers", "1", "--tick-ms", String(m.tickMs),
        "--auth", m.auth ? "on" : "off", "--max-connections", "10000", "--max-connections-per-ip", "10000",
      ];
      const hasDelay = Object.values(SETTINGS).some((s) => s.flag === "--starter-delay-ms");
      if (m.starterDelayMs !== undefined && hasDelay) args.push("--starter-delay-ms", String(m.starterDelayMs));
      const config = resolveConfig(cliArgs(args), {});
      server = await startServer({
        config, logger, version: "bench", print: () => {},
        openDatabase: () => benchDatabase(m.kind as DatabaseKind, m.pgUrl),
      });
      await server.ready;
      server.hub.onPublish((e) => {
        const signal = e.state.signal as { game_id?: string; t?: number } | undefined;
        if (e.topic === "signals") published.set(e.seq, [now(), `${signal?.game_id}|${signal?.t}`]);
      });
      const tokens: Record<string, string> = {};
      if (m.auth) {
        tokens.operator = (await server.access.tokens.create({ name: "bench-operator", role: "operator", tier: "pro" })).token;
        tokens.starter = (await server.access.tokens.create({ name: "bench-starter", role: "viewer", tier: "starter" })).token;
        tokens.admin = (await server.access.tokens.create({ name: "bench-admin", role: "admin", tier: "pro" })).token;
      }
      return { url: server.url, port: server.port, tokens, starterDelay: hasDelay };
    },
    /** The publishes of `signals` since the last call: [seq, at, key]. */
    publishes() {
      const out = [...published].map(([seq, [at, key]]) => [seq, at, key]);
      published.clear();
      return { publishes: out };
    },
    stats() {
      return { hub: server!.hub.stats(), connections: server!.realtime.sockets.size() };
    },
    async stop() {
      await server?.stop(3000);
      rmSync(dataDir, { recursive: true, force: true });
      setTimeout(() => process.exit(0), 20);
    },
  });
  process.send!({ ev: "ready" });
}

// ---------------------------------------------------------------------------------------------
// Parts 3-4: socket clients, in processes of their own. Each keeps (signal key, seq, receipt time)
// of every signal; the parent joins them with the send and publish times afterwards.
function clientRole(): void {
  const sockets: WebSocket[] = [];
  let received: Int32Array = new Int32Array(0);
  let keys: string[] = [];
  let seqs: number[] = [];
  let times: number[] = [];
  let errors: string[] = [];
  serveCommands({
    connect(m) {
      const n: number = m.n;
      received = new Int32Array(n);
      let next = 0, confirmed = 0, failed = 0;
      return new Promise<Msg>((resolve) => {
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(deadline);
          resolve({ confirmed, failed });
        };
        const deadline = setTimeout(finish, m.timeoutMs);
        const settleOne = () => {
          if (confirmed + failed >= n) finish();
          else openOne();
        };
        const openOne = () => {
          if (next >= n) return;
          const i = next++;
          const ws = new WebSocket(m.url, m.token ? ({ headers: { authorization: `Bearer ${m.token}` } } as never) : undefined);
          sockets.push(ws);
          let subscribed = false;
          ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", topic: "signals" }));
          ws.onmessage = (e) => {
            const t = now();
            const s = e.data as string;
            if (subscribed && s.startsWith('{"type":"signal"')) {
              // Read by position, not JSON.parse: 1,000 sockets in two processes must keep up.
              const g = s.indexOf('"game_id":"') + 11;
              const tt = s.indexOf('"t":', g) + 4;
              const q = s.lastIndexOf('"seq":') + 6;
              received[i]++;
              keys.push(`${s.slice(g, s.indexOf('"', g))}|${parseFloat(s.slice(tt, tt + 24))}`);
              seqs.push(parseInt(s.slice(q, q + 20), 10));
              times.push(t);
              return;
            }
            const msg = JSON.parse(s);
            if (msg.type === "subscription_confirmed" && !subscribed) {
              subscribed = true;
              confirmed++;
              settleOne();
            } else if (msg.type === "signal") {
              // A signal before the confirmation (it cannot be, but count it rather than lose it).
              received[i]++;
              keys.push(`${msg.signal.game_id}|${msg.signal.t}`);
              seqs.push(msg.seq);
              times.push(t);
            } else if (msg.type === "error" && errors.length < 5) {
              errors.push(String(msg.message));
              if (!subscribed) { failed++; subscribed = true; settleOne(); }
            }
          };
          ws.onclose = () => {
            if (!subscribed) { subscribed = true; failed++; settleOne(); }
          };
        };
        for (let k = 0; k < Math.min(m.concurrency, n); k++) openOne();
      });
    },
    reset() {
      received.fill(0);
      keys = [];
      seqs = [];
      times = [];
    },
    /** Signals received so far, the fewest on any socket. */
    count() {
      let min = Infinity;
      for (const r of received) min = Math.min(min, r);
      return { total: keys.length, min: received.length ? min : 0, errors };
    },
    /**
     * Joins receipts with m.sent ([key, sentAt]) and m.published ([seq, at, key]): receipt minus
     * the send, and receipt minus the publish, each minus m.delayMs (a starter's copy is due then).
     */
    score(m) {
      const sent = new Map<string, number>(m.sent);
      const published = new Map<number, number>((m.published as [number, number, string][]).map(([seq, at]) => [seq, at]));
      const total = new LatencyHist();
      const fanout = new LatencyHist();
      let unmatched = 0;
      for (let i = 0; i < keys.length; i++) {
        const at = sent.get(keys[i]);
        if (at === undefined) { unmatched++; continue; }
        total.record(times[i] - at - (m.delayMs ?? 0));
        const p = published.get(seqs[i]);
        if (p !== undefined) fanout.record(times[i] - p - (m.delayMs ?? 0));
      }
      return { total: total.data(), fanout: fanout.data(), unmatched };
    },
    close() {
      for (const ws of sockets) ws.close();
      setTimeout(() => process.exit(0), 200);
    },
  });
  process.send!({ ev: "ready" });
}


const role = process.argv[2];
if (role === "throughput") await throughputRole();
else if (role === "server") await serverRole();
else if (role === "clients") clientRole();
else {
  console.error(`live-bench-roles: unknown role ${role}`);
  process.exit(2);
}
