// Realtime fan-out: gridcast against a bare Bun.serve pub/sub server (and a minimal Elysia .ws()
// route), each server in a process of its own (so its CPU time and RSS are its own), load clients
// in other processes, loopback only. One job topic, the same ~125-byte progress message everywhere;
// "history" is gridcast publishing an event topic instead (a live game's, ~120 bytes a message,
// hub.emit on /ws), so recording each message in the topic's history is in the measured path.
// Then recovery (issue 13): clients that all drop and resubscribe with `since`, and the memory of
// history at 1,000 event topics.
//
// Usage: bun scripts/bench-ws.ts [--sizes 1000,10000] [--servers gridcast,history,bare,elysia]
//          [--client-procs 2] [--steady 20000] [--round-s 5] [--burst-rounds 3] [--slow-rounds 3]
//          [--stalled 10] [--window <auto>] [--staleness-size 1000] [--staleness-s 10]
//          [--staleness-workers 1,2] [--staleness-games 2000]
//          [--flood-s 70] [--flood-readers 100] [--flood-servers gridcast,bare]
//          [--recovery-clients 1000] [--recovery-rate 200] [--recovery-rounds 3]
//          [--recovery-offline-ms 1000] [--recovery-live-s 2]
//          [--history-topics 1000] [--history-messages 1000] [--history-max-mb 512]
//        (a full run takes about 14 minutes on 2 cores, 2.5 of them the history column, recovery and
//        memory: --servers gridcast,bare,elysia --recovery-clients 0 --history-topics 0 is the former
//        run; quick, about 6 minutes: BENCH_WS_HOLD_S=10 --round-s 2
//        --burst-rounds 1 --slow-rounds 1 --flood-s 0 --staleness-s 3 --recovery-rounds 1
//        --history-topics 100; recovery and memory alone, at the issue's sizes, in about a minute:
//        --sizes "" --staleness-size 0 --flood-s 0. --recovery-clients 0 / --history-topics 0 skip them.)
// Env:   BENCH_WS_HOLD_S  seconds the largest size is held while publishing steadily (default 60;
//        smaller sizes at most 15); set it lower for a quick run.
//
// All servers of a size run side by side and every measurement is a round on one server, the
// servers taken in a rotated order each round: this machine is shared, and drift then falls on
// each server alike. Per server and size: connect N sockets to /ws/grid-search/bench; RSS per
// idle connection (server RSS, settled after GC, minus the same before, over N); "steady":
// --steady deliveries/s (20/s messages to 1,000, 2/s to 10,000: well under what this machine can
// do) for the hold, giving fan-out latency (the server stamps `ts` into the state
// just before hub.set / publish; the client subtracts it from its receipt time) and server CPU
// per million deliveries; "burst": as fast as the slowest client keeps up (at most a window of
// messages ahead of the slowest socket's acknowledgement, relayed by the parent), the most
// deliveries/s without loss; then --stalled clients that never read (a process stopped with
// SIGSTOP once connected) and both phases again. Those never get past the kernel (loopback takes
// about 4 MB per socket before the server queues a byte), so a last "flood" runs 100 readers and
// the stalled clients at full pump speed long enough to reach the server's own queue.
//
// gridcast runs the real path (startServer, in-memory PGlite, hub.set(jobTopic(id), state)) with
// --tick-ms 1 so that coalescing, a rate cap by design, does not decide the fan-out figures.
// Staleness runs a real grid search on a separate gridcast at the default 50 ms tick, with
// --staleness-workers compute workers over --staleness-games demo games, sized to run for about
// --staleness-s: the age at receipt of the newest unit a message counts, from the worker's
// Atomics.add. The wire keeps protocol.md's shape (no timestamp in it): the server lists, per
// published seq, when a worker counted the newest unit in it (the hub's PublishEvent.sourceAt),
// each client keeps (seq, receipt time) per message, and the two are joined afterwards. Clocks
// are comparable across processes as performance.timeOrigin + performance.now().
//
// Recovery: --recovery-clients sockets (each one client) subscribe to the history server's event
// topic while it publishes --recovery-rate messages/s. Each round, after --recovery-live-s, every
// client closes its socket at once, stays away --recovery-offline-ms, and all reconnect together,
// resubscribing with since = the epoch and seq they have. A client has caught up when it holds every
// message up to the seq its subscription_confirmed named (the topic's latest as it came back);
// the time until all have is taken from when they began to reconnect. Every client checks every
// message's seq against the last (exactly one more: else a duplicate, or a gap) and its epoch, over
// the whole phase; "replayed" is the hub's count (stats().history.replayed), checked against the
// clients' own (confirmed seq minus since). Memory: --history-topics live games (ingested, so their
// topics are real), each emitted --history-messages one-tick messages of the feed's shape, with
// --starter-delay-ms 0 (no delayed copies held beside them) and --history-max-bytes raised to hold
// them all; hub.stats().history.bytes and the server's RSS (after GC) before and after.
//
// Bounds: every wait has a timeout, every loop a count or a deadline, and a watchdog kills all
// children and exits 1 past the run's time budget. File descriptors: Bun has no
// process.setrlimit, but raises its own soft limit to the hard limit at start (a shell at 1024
// starts a Bun that sees 20000 here), and the children inherit that; a size that needs more
// than the hard limit is skipped with a note (raise `ulimit -Hn` as root, or LimitNOFILE=).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Child, serveCommands, sleep, withTimeout, type Msg } from "./lib/bench-children";
import { LatencyHist } from "./lib/latency-hist";
import { HISTORY_DEFAULTS } from "../src/realtime/history";

const JOB_ID = "bench";
/** The history server's event topic: a live game's (live.md), which keeps a history for `since`. */
const EVENT_GAME = "bench";
const EVENT_TOPIC = `live:${EVENT_GAME}`;
const now = () => performance.timeOrigin + performance.now();
// IPC (scripts/lib/bench-children.ts): the parent asks {id, cmd, ...}; a child answers {re: id, ...} or sends events {ev, ...}.

/** RSS once freed pages went back to the system (a little after a GC): collect and wait until it holds still. */
async function measureRss(): Promise<number> {
  let rss = process.memoryUsage().rss;
  for (let i = 0; i < 10; i++) {
    Bun.gc(true);
    await sleep(300);
    const next = process.memoryUsage().rss;
    const still = Math.abs(next - rss) < 256 * 1024;
    rss = next;
    if (still && i > 0) break;
  }
  return rss;
}

// ---------------------------------------------------------------------------------------------
// Server role: one of gridcast, bare, elysia, or history (gridcast publishing an event topic). Publishes the same state the same way each time.
async function serverRole(kind: string, tickMs: number, maxConnections: number, workers: number, extraFlags: string[]): Promise<void> {
  let seq = 0; // `current` of the progress: the bench's own message number, across phases
  const state = (current: number) => ({ status: "running", current, total: 1_000_000, current_combo: "0.42/0.17", ts: now() });
  let publish: (s: Record<string, unknown>) => void;
  let connections: () => number;
  let stats: () => { messages: number; drops: number } = () => ({ messages: 0, drops: 0 });
  /** Bytes Bun holds for the sockets beyond what the kernel took (-1: not visible, as in gridcast). */
  let buffered: () => number = () => -1;
  let stop: () => Promise<void>;
  let port: number;
  /** gridcast only: real jobs for the staleness phase. */
  let jobs: Record<string, (m: Msg) => Promise<Msg>> = {};

  if (kind === "gridcast" || kind === "history") {
    const { parseArgs: cliArgs, resolveConfig } = await import("../src/config/resolve.ts");
    const { silentLogger } = await import("../src/log/logger.ts");
    const { startServer } = await import("../src/server/lifecycle.ts");
    const { createPglite, pgliteDatabase } = await import("../src/db/pglite.ts");
    const { migrate } = await import("../src/db/migrate.ts");
    const { jobTopic } = await import("../src/realtime/topics.ts");
    const dataDir = mkdtempSync(join(tmpdir(), "gridcast-bench-ws-"));
    const config = resolveConfig(cliArgs([
      "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--workers", String(workers), "--tick-ms", String(tickMs),
      "--max-connections", String(maxConnections), "--max-connections-per-ip", String(maxConnections), ...extraFlags,
    ]), {});
    const server = await startServer({
      config, logger: silentLogger, version: "bench",
      openDatabase: async () => {
        const db = pgliteDatabase(await createPglite(undefined));
        await migrate(db.db);
        return db;
      },
    });
    await server.ready;
    const api = async (path: string, body?: unknown, type = "application/json") => {
      const res = await fetch(`${server.url}${path}`, {
        method: "POST", headers: { "content-type": type }, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
      return res.json() as Promise<Msg>;
    };
    if (kind === "history") {
      // An event topic with history: a real live game (ingested, so the server's resolveTopic knows
      // `live:{game}`), its messages emitted one per event as the feed does signals, each one
      // recorded in the topic's history before it goes out. The tick carries the bench's number as
      // its t and the server's stamp in the price slot (the live_game format keeps only the ticks).
      await api("/api/live/ticks", `${JSON.stringify({ game_id: EVENT_GAME, t: 0, price: 0.5, fair: 0.5 })}\n`, "application/x-ndjson");
      publish = (s) => server.hub.emit(EVENT_TOPIC, { type: "ticks", game_id: EVENT_GAME, ticks: [[s.current, s.ts, 0.5]] });
      const games = (n: number) => Array.from({ length: n }, (_, i) => `${EVENT_GAME}-h${String(i).padStart(5, "0")}`);
      jobs = {
        position: async () => ({ ...server.hub.position(EVENT_TOPIC), history: server.hub.stats().history }),
        /** The memory of history: `topics` live games, each given `messages` realistic one-tick messages. */
        async fill(m) {
          const ids = games(m.topics);
          await api("/api/live/ticks", ids.map((id) => JSON.stringify({ game_id: id, t: 0, price: 0.5, fair: 0.5 })).join("\n") + "\n", "application/x-ndjson");
          const before = await measureRss();
          const h0 = server.hub.stats().history;
          const t0 = performance.now();
          let price = 0.5;
          for (let k = 1; k <= m.messages; k++) {
            for (let i = 0; i < ids.length; i++) {
              price = Math.min(0.99, Math.max(0.01, price + (((k * 7919 + i * 104729) % 201) - 100) / 10_000));
              const tick = [k, Math.round(price * 10_000) / 10_000, Math.round((price * 0.98 + 0.01) * 10_000) / 10_000];
              server.hub.emit(`live:${ids[i]}`, { type: "ticks", game_id: ids[i], ticks: [tick] });
            }
            if (k % 50 === 0) await sleep(0); // let IPC and timers breathe
          }
          const emitMs = performance.now() - t0;
          const after = await measureRss();
          const h = server.hub.stats().history;
          return { rssBefore: before, rssAfter: after, emitMs, emitted: m.topics * m.messages, history: h, historyBefore: h0 };
        },
      };
    } else {
      const topic = jobTopic(JOB_ID);
      publish = (s) => server.hub.set(topic, s); // the real path: coalescing, render once, server.publish
    }
    connections = () => server.realtime.sockets.size();
    stats = () => server.hub.stats();
    stop = async () => {
      await server.stop(2000);
      rmSync(dataDir, { recursive: true, force: true });
    };
    port = server.port;
    // Per job topic, every publish: its seq, when a worker counted the newest unit in it, when it went out.
    const published = new Map<string, { seq: number; sourceAt: number | undefined; at: number; terminal: boolean }[]>();
    const ended = new Map<string, () => void>();
    server.hub.onPublish((e) => {
      if (!e.topic.startsWith("job:")) return;
      let list = published.get(e.topic);
      if (!list) published.set(e.topic, (list = []));
      list.push({ seq: e.seq, sourceAt: e.sourceAt, at: e.at, terminal: e.terminal });
      if (e.terminal) ended.get(e.topic)?.();
    });
    if (kind === "gridcast") jobs = {
      async games(m) {
        return api(`/api/games/demo?games=${m.games}&seed=${m.seed}`);
      },
      /** Submits a grid search; resolves at once with its id (`wait` resolves when it ends). */
      async submit(m) {
        const { request_id: id } = await api("/api/grid-search/run", m.grid);
        const topic = jobTopic(id);
        if (!published.has(topic)) published.set(topic, []);
        return { id, startedAt: now() };
      },
      /** Resolves when the job's terminal state went out, with every publish of its topic. (`job`, not `id`: that is the IPC's.) */
      async wait(m) {
        const topic = jobTopic(m.job);
        if (!(published.get(topic) ?? []).some((p) => p.terminal)) await new Promise<void>((resolve) => ended.set(topic, resolve));
        ended.delete(topic);
        const hub = server.hub.stats();
        return { publishes: published.get(topic) ?? [], endedAt: now(), dataAge: hub.dataAge, pool: server.pool.stats() };
      },
    };
  } else {
    const topic = `job:${JOB_ID}`;
    let open = 0;
    let wireSeq = 0;
    let current = "";
    let messages = 0;
    const render = (s: Record<string, unknown>) => JSON.stringify({ type: "progress", progress: s, seq: ++wireSeq });
    const options = { idleTimeout: 120, sendPings: true, perMessageDeflate: false, maxPayloadLength: 16 * 1024 };
    let server: { publish(t: string, d: string): number; stop(force?: boolean): unknown; port?: number };
    const live = new Set<{ getBufferedAmount(): number }>();
    if (kind === "bare") {
      server = Bun.serve({
        hostname: "127.0.0.1", port: 0,
        fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("websocket only", { status: 400 })),
        websocket: {
          ...options,
          open(ws) { open++; live.add(ws); ws.subscribe(topic); if (current) ws.send(current); },
          message() {},
          close(ws) { open--; live.delete(ws); },
        },
      });
    } else {
      const { Elysia } = await import("elysia");
      const app = new Elysia({ websocket: options }).ws("/ws/grid-search/:id", {
        open(ws) { open++; live.add(ws.raw as never); ws.subscribe(topic); if (current) ws.send(current); },
        message() {},
        close(ws) { open--; live.delete(ws.raw as never); },
      }).listen({ hostname: "127.0.0.1", port: 0 });
      server = app.server!;
    }
    publish = (s) => {
      current = render(s);
      messages++;
      server.publish(topic, current);
    };
    connections = () => open;
    stats = () => ({ messages, drops: 0 });
    buffered = () => {
      let sum = 0;
      for (const ws of live) sum += ws.getBufferedAmount();
      return sum;
    };
    stop = async () => void server.stop(true);
    port = server.port!;
  }
  publish(state(seq));

  let acked = 0;
  let onAck: (() => void) | null = null;
  let halted = false;

  serveCommands({
    async measure(m) {
      const rss = m.gc ? await measureRss() : process.memoryUsage().rss;
      const cpu = process.cpuUsage();
      return { rss, cpuMs: (cpu.user + cpu.system) / 1000, userMs: cpu.user / 1000, connections: connections(), seq, buffered: buffered(), ...stats() };
    },
    ack(m) {
      acked = Math.max(acked, m.min);
      onAck?.();
    },
    /** Ends a `steady` early (the recovery phase publishes until its rounds are over). */
    halt() {
      halted = true;
    },
    /** `rate` messages per second for `ms` (or until `halt`), on a self-correcting schedule. */
    steady(m) {
      halted = false;
      return new Promise<Msg>((resolve) => {
        const period = 1000 / m.rate;
        const start = performance.now();
        const count = Math.max(1, Math.floor(m.ms / period));
        const first = seq + 1;
        let k = 0;
        const tick = () => {
          publish(state(++seq));
          if (++k >= count || halted) return resolve({ first, last: seq, published: k });
          setTimeout(tick, Math.max(0, start + k * period - performance.now()));
        };
        tick();
      });
    },
    /**
     * As fast as acknowledgements allow: at most `window` messages ahead of the slowest client,
     * and at most one publish per timer turn (about 1 ms, gridcast's tick here: faster sets would
     * only be coalesced), the same for every server; stops after `ms`.
     */
    burst(m) {
      return new Promise<Msg>((resolve) => {
        const end = performance.now() + m.ms;
        const first = seq + 1;
        let scheduled = false;
        let done = false;
        const pump = () => {
          scheduled = false;
          if (done) return;
          if (performance.now() >= end) {
            done = true;
            onAck = null;
            return resolve({ first, last: seq, published: seq - first + 1 });
          }
          if (seq - acked >= m.window) {
            // Wait for an ack, but look at the clock again soon even if none comes.
            if (!scheduled) { scheduled = true; setTimeout(pump, 20); }
            return;
          }
          publish(state(++seq));
          scheduled = true;
          setTimeout(pump, 1);
        };
        onAck = () => {
          if (!scheduled) { scheduled = true; setTimeout(pump, 0); }
        };
        pump();
      });
    },
    async stop() {
      await stop();
      setTimeout(() => process.exit(0), 50);
    },
    ...jobs,
  });
  process.send!({ ev: "ready", port });
}

// ---------------------------------------------------------------------------------------------
// Client role: N sockets, each keeping the newest `current` it saw; latency of every message. With
// a `topic` (an event topic on /ws) each socket is one client of protocol.md: it subscribes, keeps
// the epoch and seq it has, and counts every message that is not exactly one more than the last
// (a duplicate or a gap), across drops and resubscriptions with `since`.
function clientRole(): void {
  let sockets: (WebSocket | undefined)[] = [];
  let last = new Float64Array(0);
  let alive = new Uint8Array(0);
  const hist = new LatencyHist();
  let received = 0;
  let closed = 0;
  let reportedMin = -1;
  let acks = true;
  let url = "";
  // Staleness mode: (seq, receipt time) of every message, joined with the server's list later.
  let recordSeq = false;
  let seqs: number[] = [];
  let times: number[] = [];
  // Event-topic mode, per client: the seq and epoch it has, the topic's seq when its subscription
  // was confirmed, the snapshot seq a plain subscribe starts with (not a message), catching up.
  let topic: string | undefined;
  let seqOf = new Float64Array(0);
  let epochOf: string[] = [];
  let confirmedSeq = new Float64Array(0);
  let sinceSeq = new Float64Array(0);
  let snapshotSeq = new Float64Array(0);
  let waiting = new Uint8Array(0);
  let caughtAt = new Float64Array(0);
  let confirmedAt = new Float64Array(0);
  let bad = new Uint8Array(0);
  let pendingCatch = 0;
  let onCaught: (() => void) | null = null;
  const ev = { messages: 0, dups: 0, gaps: 0, missing: 0, epochMismatch: 0, epochChanged: 0, recovered: 0, notRecovered: 0, replayExpected: 0, errors: 0, firstError: "" };
  const badCounts = () => {
    let dupClients = 0;
    let gapClients = 0;
    for (let i = 0; i < bad.length; i++) { if (bad[i] & 1) dupClients++; if (bad[i] & 2) gapClients++; }
    return { dupClients, gapClients };
  };

  function minSeq(): number {
    let min = Infinity;
    for (let i = 0; i < last.length; i++) if (alive[i] && last[i] < min) min = last[i];
    return min;
  }

  setInterval(() => {
    if (!acks || last.length === 0) return;
    const min = minSeq();
    if (min !== Infinity && min !== reportedMin) {
      reportedMin = min;
      process.send!({ ev: "acks", min });
    }
  }, 2);

  function checkCaught(i: number, t: number): void {
    if (waiting[i] && seqOf[i] >= confirmedSeq[i]) {
      waiting[i] = 0;
      caughtAt[i] = t;
      if (--pendingCatch === 0) onCaught?.();
    }
  }

  /** One message of the event topic on client i's socket (`since`: this subscription resumed). */
  function onEvent(i: number, s: string, t: number, since: boolean, settle: (ok: boolean) => void): void {
    if (s.startsWith('{"type":"subscription_confirmed"')) {
      const m = JSON.parse(s);
      confirmedSeq[i] = m.seq;
      if (!since) {
        seqOf[i] = m.seq;
        epochOf[i] = m.epoch;
        snapshotSeq[i] = m.seq;
      } else {
        snapshotSeq[i] = -1;
        confirmedAt[i] = t;
        if (m.epoch !== epochOf[i]) ev.epochChanged++;
        if (m.recovered === true) ev.recovered++;
        else ev.notRecovered++;
        ev.replayExpected += Math.max(0, m.seq - sinceSeq[i]);
        checkCaught(i, t);
      }
      return settle(true);
    }
    if (!s.startsWith('{"type":"ticks"')) {
      if (s.startsWith('{"type":"error"')) {
        ev.errors++;
        if (!ev.firstError) ev.firstError = s.slice(0, 200);
      }
      return;
    }
    const q = s.lastIndexOf('"seq":');
    const seq = parseInt(s.slice(q + 6, q + 26), 10);
    const e0 = s.indexOf('"epoch":"', q) + 9;
    const epoch = s.slice(e0, s.indexOf('"', e0));
    const snapshot = seq === snapshotSeq[i];
    snapshotSeq[i] = -1; // only the first message after a plain subscribe can be the snapshot
    if (snapshot) return;
    ev.messages++;
    if (epoch !== epochOf[i]) ev.epochMismatch++;
    const before = seqOf[i];
    if (seq <= before) {
      ev.dups++;
      bad[i] |= 1;
    } else {
      if (seq > before + 1) {
        ev.gaps++;
        ev.missing += seq - before - 1;
        bad[i] |= 2;
      }
      seqOf[i] = seq;
    }
    if (waiting[i]) checkCaught(i, t);
    // The tick is [current, the server's stamp, fair] (see serverRole).
    const k = s.indexOf('"ticks":[[') + 10;
    const comma = s.indexOf(",", k);
    const ts = parseFloat(s.slice(comma + 1, comma + 30));
    if (!(ts > 1e12)) return; // the game's own tick, not one of the bench's
    last[i] = parseInt(s.slice(k, comma), 10);
    hist.record(t - ts);
    received++;
  }

  /** Opens client i's socket; `settle` once it is open (and, on an event topic, subscribed) or failed. */
  function openSocket(i: number, since: boolean, settle: (ok: boolean) => void): void {
    const ws = new WebSocket(url);
    sockets[i] = ws;
    let opened = false;
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      settle(ok);
    };
    ws.onopen = () => {
      opened = true;
      alive[i] = 1;
      if (topic === undefined) return done(true);
      ws.send(JSON.stringify(since ? { type: "subscribe", topic, since: { epoch: epochOf[i], seq: seqOf[i] } } : { type: "subscribe", topic }));
    };
    ws.onmessage = (e) => {
      // A dropped socket's late messages: its client has left it (what it missed comes in the replay).
      if (sockets[i] !== ws) return;
      const t = now();
      const s = e.data as string;
      if (recordSeq) {
        const q = s.lastIndexOf('"seq":');
        if (q < 0) return;
        seqs.push(parseInt(s.slice(q + 6, q + 26), 10));
        times.push(t);
        received++;
        return;
      }
      if (topic !== undefined) return onEvent(i, s, t, since, done);
      const c = s.indexOf('"current":');
      const ts = s.indexOf('"ts":');
      if (c < 0 || ts < 0) return;
      last[i] = parseInt(s.slice(c + 10, c + 30), 10);
      hist.record(t - parseFloat(s.slice(ts + 5, ts + 30)));
      received++;
    };
    ws.onclose = () => {
      const mine = sockets[i] === ws;
      if (mine) alive[i] = 0;
      if (opened && settled) {
        if (mine) closed++;
        return;
      }
      done(false);
    };
  }

  /** Opens clients 0..n-1, `concurrency` at a time; resolves when every one settled, or at the deadline. */
  function openAll(n: number, concurrency: number, since: boolean, timeoutMs: number, each?: (i: number, ok: boolean) => void): Promise<{ opened: number; failed: number }> {
    let next = 0;
    let settledN = 0;
    let failed = 0;
    return new Promise((resolve) => {
      const finish = () => resolve({ opened: settledN - failed, failed });
      const deadline = setTimeout(finish, timeoutMs);
      const openOne = () => {
        if (next >= n) return;
        const i = next++;
        openSocket(i, since, (ok) => {
          settledN++;
          if (!ok) failed++;
          each?.(i, ok);
          openOne();
          if (settledN === n) {
            clearTimeout(deadline);
            // Give the initial state a moment to arrive on the last sockets.
            setTimeout(finish, 200);
          }
        });
      };
      for (let k = 0; k < Math.min(concurrency, n); k++) openOne();
    });
  }

  serveCommands({
    async connect(m) {
      acks = m.acks !== false;
      recordSeq = m.recordSeq === true;
      url = m.url;
      topic = m.topic;
      const n: number = m.n;
      sockets = new Array(n);
      last = new Float64Array(n).fill(-1);
      alive = new Uint8Array(n);
      seqOf = new Float64Array(n).fill(-1);
      epochOf = new Array(n).fill("");
      confirmedSeq = new Float64Array(n).fill(Infinity);
      sinceSeq = new Float64Array(n);
      snapshotSeq = new Float64Array(n).fill(-1);
      waiting = new Uint8Array(n);
      caughtAt = new Float64Array(n);
      confirmedAt = new Float64Array(n);
      bad = new Uint8Array(n);
      const r = await openAll(n, m.concurrency, false, m.timeoutMs);
      return { ...r, first: last.filter((x) => x >= 0).length };
    },
    /**
     * Every client drops its socket, waits `offlineMs`, reconnects and resubscribes with `since` =
     * the epoch and seq it has; resolves once each has every message up to the seq its
     * confirmation named (the topic's latest when it came back), or at `timeoutMs`.
     */
    async drop(m) {
      const n = sockets.length;
      const dropAt = now();
      for (let i = 0; i < n; i++) {
        const ws = sockets[i];
        sockets[i] = undefined;
        alive[i] = 0;
        try { ws?.close(); } catch { /* closing already */ }
      }
      await sleep(m.offlineMs);
      const reconnectAt = now();
      sinceSeq.set(seqOf);
      confirmedSeq.fill(Infinity);
      caughtAt.fill(0);
      confirmedAt.fill(0);
      waiting.fill(1);
      pendingCatch = n;
      let failed = 0;
      const caught = new Promise<void>((resolve) => (onCaught = resolve));
      const opening = openAll(n, n, true, m.timeoutMs, (i, ok) => {
        if (ok || !waiting[i]) return;
        failed++;
        waiting[i] = 0;
        if (--pendingCatch === 0) onCaught?.();
      });
      await Promise.race([caught, sleep(m.timeoutMs)]);
      onCaught = null;
      await Promise.race([opening, sleep(100)]);
      const after: number[] = [];
      const confirmed: number[] = [];
      for (let i = 0; i < n; i++) {
        if (caughtAt[i] > 0) after.push(caughtAt[i] - reconnectAt);
        if (confirmedAt[i] > 0) confirmed.push(confirmedAt[i] - reconnectAt);
      }
      return { dropAt, reconnectAt, clients: n, caughtUp: after.length, after, confirmed, failed, behind: pendingCatch, counts: { ...ev, ...badCounts() } };
    },
    /** Resolves when every client has seq `upto` (or at `timeoutMs`): what it counted. */
    async settle(m) {
      const deadline = performance.now() + m.timeoutMs;
      const behind = () => seqOf.reduce((a, s) => a + (s < m.upto ? 1 : 0), 0);
      while (behind() > 0 && performance.now() < deadline) await sleep(20);
      return { behind: behind(), counts: { ...ev, ...badCounts() } };
    },
    reset() {
      hist.counts.fill(0);
      hist.n = hist.sum = hist.max = 0;
      received = 0;
      seqs = [];
      times = [];
    },
    /** Staleness: ages at receipt of the messages kept since reset, given when each seq's newest unit was counted. */
    score(m) {
      const sourceAt = new Map<number, number>(m.sources);
      const ages = new LatencyHist();
      let unmatched = 0;
      for (let i = 0; i < seqs.length; i++) {
        const at = sourceAt.get(seqs[i]);
        if (at === undefined) unmatched++;
        else ages.record(times[i] - at);
      }
      return { hist: ages.data(), unmatched, messages: seqs.length };
    },
    report() {
      return { received, closed, open: alive.reduce((a, b) => a + b, 0), min: minSeq(), hist: hist.data(), counts: { ...ev, ...badCounts() } };
    },
    close() {
      for (const ws of sockets) ws?.close();
      setTimeout(() => process.exit(0), 300);
    },
  });
  process.send!({ ev: "ready" });
}

// ---------------------------------------------------------------------------------------------
// Parent: spawns, drives and measures.
function readFdLimits(): { soft: number; hard: number } {
  const read = (flag: string) => {
    const out = Bun.spawnSync(["sh", "-c", `ulimit ${flag}`]).stdout.toString().trim();
    return out === "unlimited" ? Infinity : Number(out);
  };
  return { soft: read("-Sn"), hard: read("-Hn") };
}
let fdLimits = { soft: Infinity, hard: Infinity };

/** What one kind of phase added up to over its rounds on one server. */
class PhaseAcc {
  readonly hist = new LatencyHist();
  deliveries = 0;
  expected = 0;
  seconds = 0;
  cpuMs = 0;
  userMs = 0;
  undrained = 0;
  readonly perRound: number[] = [];
  readonly roundP99: number[] = [];

  get perSecond(): number { return this.seconds > 0 ? this.deliveries / this.seconds : NaN; }
  get p50(): number { return this.hist.quantile(0.5); }
  get p99(): number { return this.hist.quantile(0.99); }
  get max(): number { return this.hist.n ? this.hist.max : NaN; }
  get cpuPerMillion(): number { return this.deliveries > 0 ? this.cpuMs / 1000 / (this.deliveries / 1e6) : NaN; }
  get userPerMillion(): number { return this.deliveries > 0 ? this.userMs / 1000 / (this.deliveries / 1e6) : NaN; }
  /** The median round's p99: steadier than the pooled p99 when another process takes the cores for a while. */
  get medianP99(): number {
    const xs = [...this.roundP99].sort((a, b) => a - b);
    return xs.length ? xs[Math.floor((xs.length - 1) / 2)] : NaN;
  }
}

interface Target {
  kind: string;
  n: number;
  /** Steady messages per second. */
  rate: number;
  server: Child;
  clients: Child[];
  relay: ReturnType<typeof ackRelay>;
  url: string;
  /** An event topic on /ws the clients subscribe to (the history server), else none: the job socket. */
  topic?: string;
  opened: number;
  failed: number;
  connectSeconds: number;
  rssBase: number;
  rssIdle: number;
  connectedAt: number;
  heldSeconds: number;
  dropped: number;
  steady: PhaseAcc;
  burst: PhaseAcc;
  slowSteady: PhaseAcc;
  slowBurst: PhaseAcc;
  stalled?: Child;
  stalledOpened: number;
  rssBeforeSlow: number;
  rssAfterSlow: number;
  stalledClosed: number;
  drops: number;
  /** Bytes queued in the server after the stalled phases; -1 where not visible (gridcast). */
  buffered: number;
}

const { values: opt } = parseArgs({
  args: process.argv.slice(2),
  options: {
    sizes: { type: "string", default: "1000,10000" },
    servers: { type: "string", default: "gridcast,history,bare,elysia" },
    "client-procs": { type: "string", default: "2" },
    steady: { type: "string", default: "20000" },
    "round-s": { type: "string", default: "5" },
    "burst-rounds": { type: "string", default: "3" },
    "slow-rounds": { type: "string", default: "3" },
    stalled: { type: "string", default: "10" },
    window: { type: "string" },
    "staleness-size": { type: "string", default: "1000" },
    "staleness-s": { type: "string", default: "10" },
    "staleness-workers": { type: "string", default: "1,2" },
    "staleness-games": { type: "string", default: "2000" },
    "flood-s": { type: "string", default: "70" },
    "flood-readers": { type: "string", default: "100" },
    "flood-servers": { type: "string", default: "gridcast,bare" },
    "recovery-clients": { type: "string", default: "1000" },
    "recovery-rate": { type: "string", default: "200" },
    "recovery-rounds": { type: "string", default: "3" },
    "recovery-offline-ms": { type: "string", default: "1000" },
    "recovery-live-s": { type: "string", default: "2" },
    "history-topics": { type: "string", default: "1000" },
    "history-messages": { type: "string", default: "1000" },
    "history-max-mb": { type: "string", default: "512" },
  },
  allowPositionals: true,
  strict: true,
}) as { values: Record<string, string | undefined> };

const mb = (bytes: number) => bytes / 1024 / 1024;
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en") : "-");
const ms2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "-");

async function spawnClients(procs: number, n: number, url: string, acks = true, recordSeq = false, topic?: string) {
  const per = Array.from({ length: procs }, (_, i) => Math.floor(n / procs) + (i < n % procs ? 1 : 0)).filter((k) => k > 0);
  const clients = per.map(() => new Child(import.meta.path, ["__client"]));
  await Promise.all(clients.map((c) => withTimeout(c.ready, 20_000, "client start")));
  const t0 = performance.now();
  const replies = await Promise.all(clients.map((c, i) =>
    c.ask("connect", { url, topic, n: per[i], concurrency: 100, acks, recordSeq, timeoutMs: 50_000 }, 60_000)));
  return {
    clients,
    opened: replies.reduce((a, r) => a + r.opened, 0),
    failed: replies.reduce((a, r) => a + r.failed, 0),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Acks of the reading clients: the newest message every one of their sockets has. */
function ackRelay(server: Child, clients: Child[]) {
  const mins = new Map<Child, number>();
  let forwarded = -1;
  let forward = false;
  const globalMin = () => Math.min(...clients.map((c) => mins.get(c) ?? -1));
  for (const c of clients) {
    c.onEvent = (m) => {
      if (m.ev !== "acks") return;
      mins.set(c, m.min);
      const g = globalMin();
      // Only the burst needs acks; in the other phases they would only cost the server CPU.
      if (forward && g > forwarded) { forwarded = g; server.tell("ack", { min: g }); }
    };
  }
  return {
    set forwarding(on: boolean) {
      forward = on;
      if (on) { forwarded = globalMin(); server.tell("ack", { min: forwarded }); }
    },
    async drained(last: number, timeoutMs: number): Promise<boolean> {
      const deadline = performance.now() + timeoutMs;
      while (globalMin() < last) {
        if (performance.now() > deadline) return false;
        await sleep(5);
      }
      return true;
    },
  };
}

/** One round of a phase on one server: publish, wait until every reading socket has the last message, add up. */
async function round(t: Target, acc: PhaseAcc, label: string, run: () => Promise<Msg>, acks = false): Promise<void> {
  await Promise.all(t.clients.map((c) => c.ask("reset")));
  t.relay.forwarding = acks;
  const before = await t.server.ask("measure");
  const t0 = performance.now();
  const done = await run();
  const drained = await t.relay.drained(done.last, 15_000);
  const seconds = (performance.now() - t0) / 1000;
  t.relay.forwarding = false;
  const after = await t.server.ask("measure");
  const reports = await Promise.all(t.clients.map((c) => c.ask("report")));
  const hist = new LatencyHist();
  for (const r of reports) hist.merge(r.hist);
  const deliveries = reports.reduce((a, r) => a + r.received, 0);
  const cpuMs = after.cpuMs - before.cpuMs;
  acc.hist.merge(hist);
  acc.userMs += after.userMs - before.userMs;
  acc.roundP99.push(hist.quantile(0.99));
  acc.deliveries += deliveries;
  acc.expected += (after.messages - before.messages) * t.n;
  acc.seconds += seconds;
  acc.cpuMs += cpuMs;
  acc.perRound.push(deliveries / seconds);
  if (!drained) acc.undrained++;
  console.log(`  ${label.padEnd(16)} ${t.kind.padEnd(9)} ${int(deliveries / seconds).padStart(10)} deliveries/s ` +
    `(${deliveries === (after.messages - before.messages) * t.n ? "all" : `${deliveries} of ${(after.messages - before.messages) * t.n}`}), ` +
    `p50 ${ms2(hist.quantile(0.5))} p99 ${ms2(hist.quantile(0.99))} max ${ms2(hist.max)} ms, ` +
    `${ms2(cpuMs / 1000 / (deliveries / 1e6))} CPU s/1M (user ${ms2((after.userMs - before.userMs) / 1000 / (deliveries / 1e6))})${drained ? "" : ", NOT DRAINED"}`);
}

async function startTarget(kind: string, n: number, stalledN: number, tickMs = 1, workers = 1, extraFlags: string[] = [], maxConnections = n + stalledN + 200): Promise<Target> {
  const server = new Child(import.meta.path, ["__server", kind, String(tickMs), String(maxConnections), String(workers), JSON.stringify(extraFlags)]);
  const { port } = await withTimeout(server.ready, 60_000, `${kind} start`);
  // The history server's clients follow its event topic on /ws; the others, the job's own socket.
  const topic = kind === "history" ? EVENT_TOPIC : undefined;
  const url = topic ? `ws://127.0.0.1:${port}/ws` : `ws://127.0.0.1:${port}/ws/grid-search/${JOB_ID}`;
  const acc = () => new PhaseAcc();
  return {
    kind, n, rate: 0, server, topic, clients: [], relay: ackRelay(server, []), url, opened: 0, failed: 0, connectSeconds: 0, rssBase: 0, rssIdle: 0,
    connectedAt: 0, heldSeconds: 0, dropped: 0, steady: acc(), burst: acc(), slowSteady: acc(), slowBurst: acc(),
    stalledOpened: 0, rssBeforeSlow: 0, rssAfterSlow: 0, stalledClosed: 0, drops: 0, buffered: -1,
  };
}

async function connectTarget(t: Target, procs: number): Promise<void> {
  // One small round of connections first, so the baseline has the code paths warm and allocated.
  const warm = await spawnClients(1, 100, t.url, true, false, t.topic);
  await Promise.all(warm.clients.map((c) => c.end("close")));
  t.rssBase = (await t.server.ask("measure", { gc: true })).rss;
  const c = await spawnClients(procs, t.n, t.url, true, false, t.topic);
  t.clients = c.clients;
  t.relay = ackRelay(t.server, c.clients);
  t.opened = c.opened;
  t.failed = c.failed;
  t.connectSeconds = c.seconds;
  t.connectedAt = performance.now();
  await sleep(500);
  const idle = await t.server.ask("measure", { gc: true });
  t.rssIdle = idle.rss;
  console.log(`  ${t.kind}: ${c.opened} of ${t.n} connected in ${c.seconds.toFixed(1)} s (${c.failed} failed); RSS ` +
    `${mb(t.rssBase).toFixed(1)} -> ${mb(t.rssIdle).toFixed(1)} MB with ${idle.connections} idle connections: ` +
    `${((t.rssIdle - t.rssBase) / 1024 / t.n).toFixed(2)} KB each`);
}

async function stopTarget(t: Target): Promise<void> {
  t.stalled?.proc.kill("SIGKILL");
  await Promise.all(t.clients.map((c) => c.end("close")));
  await t.server.end();
}

/** Round r visits the servers in a rotated order, so drift on a shared machine falls on each alike. */
const rotated = <T>(xs: T[], r: number) => xs.map((_, i) => xs[(i + r) % xs.length]);

async function runSize(n: number, servers: string[], o: { procs: number; rate: number; holdMs: number; roundMs: number; burstRounds: number; slowRounds: number; stalledN: number; window?: string }): Promise<Target[]> {
  const targets: Target[] = [];
  try {
    for (const kind of servers) targets.push(await startTarget(kind, n, o.stalledN));
    for (const t of targets) await connectTarget(t, o.procs);

    const window = Number(o.window ?? Math.max(4, Math.round(20_000 / n)));
    for (const t of targets) t.rate = o.rate;
    const steadyRounds = Math.max(1, Math.ceil(o.holdMs / (o.roundMs * targets.length)));
    for (let r = 0; r < steadyRounds; r++) {
      for (const t of rotated(targets, r)) {
        await round(t, t.steady, `steady ${o.rate.toFixed(1)}/s`, () => t.server.ask("steady", { rate: o.rate, ms: o.roundMs }, o.roundMs + 30_000));
      }
    }
    for (const t of targets) {
      const held = await t.server.ask("measure");
      const reports = await Promise.all(t.clients.map((c) => c.ask("report")));
      t.heldSeconds = (performance.now() - t.connectedAt) / 1000;
      t.dropped = Math.max(t.opened - held.connections, reports.reduce((a, x) => a + x.closed, 0));
      console.log(`  ${t.kind}: ${t.opened} connections held ${t.heldSeconds.toFixed(0)} s: ${held.connections} on the server, ${t.dropped} dropped`);
    }
    for (let r = 0; r < o.burstRounds; r++) {
      for (const t of rotated(targets, r)) {
        await round(t, t.burst, `burst (w ${window})`, () => t.server.ask("burst", { window, ms: o.roundMs }, o.roundMs + 30_000), true);
      }
    }
    // The stalled clients follow the job socket; the history server runs gridcast's same socket
    // code, so they are left out there (its column shows "-"), which keeps the run's length.
    const slowTargets = targets.filter((t) => t.topic === undefined);
    if (o.stalledN > 0 && o.slowRounds > 0) {
      for (const t of slowTargets) {
        t.stalled = new Child(import.meta.path, ["__client"]);
        await withTimeout(t.stalled.ready, 20_000, "stalled client start");
        const s = await t.stalled.ask("connect", { url: t.url, n: o.stalledN, concurrency: o.stalledN, acks: false, timeoutMs: 10_000 }, 15_000);
        t.stalledOpened = s.opened;
        // From here on it reads nothing: the kernel's buffers fill, then the server's.
        t.stalled.proc.kill("SIGSTOP");
        t.rssBeforeSlow = (await t.server.ask("measure", { gc: true })).rss;
        console.log(`  ${t.kind}: ${s.opened} stalled clients connected, then stopped (SIGSTOP)`);
      }
      for (let r = 0; r < o.slowRounds; r++) {
        for (const t of rotated(slowTargets, r)) {
          await round(t, t.slowSteady, "stalled steady", () => t.server.ask("steady", { rate: o.rate, ms: o.roundMs }, o.roundMs + 30_000));
          await round(t, t.slowBurst, "stalled burst", () => t.server.ask("burst", { window, ms: o.roundMs }, o.roundMs + 30_000), true);
        }
      }
      for (const t of slowTargets) {
        const before = t.n + t.stalledOpened;
        const after = await t.server.ask("measure", { gc: true });
        t.rssAfterSlow = after.rss;
        t.stalledClosed = Math.max(0, before - after.connections);
        t.drops = after.drops;
        t.buffered = after.buffered;
        console.log(`  ${t.kind}: server RSS ${mb(t.rssBeforeSlow).toFixed(1)} -> ${mb(t.rssAfterSlow).toFixed(1)} MB; ` +
          `stalled sockets closed by the server: ${t.stalledClosed}; drops: ${t.drops}; ` +
          `queued in the server: ${t.buffered < 0 ? "not visible" : `${mb(t.buffered).toFixed(2)} MB`}`);
      }
    }
    return targets;
  } finally {
    await Promise.all(targets.map(stopTarget));
  }
}

interface StalenessResult {
  workers: number;
  games: number;
  pairs: number;
  jobSeconds: number;
  /** Receipt time minus when a worker counted the newest unit in the message. */
  ages: LatencyHist;
  /** The server's half: publish time minus the same. */
  publishAges: LatencyHist;
  messages: number;
  unmatched: number;
  publishes: number;
}

/**
 * A real grid search on gridcast at the default 50 ms tick: workers count with Atomics.add, the
 * pool wakes and hands the hub a snapshot with the time of the newest count, the hub coalesces
 * and publishes. N clients follow the job's socket; ages are joined by seq (see the top).
 */
async function runStaleness(n: number, procs: number, workers: number, games: number, ms: number): Promise<StalenessResult> {
  const t = await startTarget("gridcast", n, 0, 50, workers);
  try {
    await t.server.ask("games", { games, seed: 7 }, 180_000);
    // Entries from 0.02 up, exits 0..0.0099: every exit is below every entry, so pairs = 100 x entries.
    const grid = (entries: number) => ({
      entry_start: 0.02, entry_stop: Number((0.02 + (entries - 1) * 0.0001).toFixed(4)), entry_step: 0.0001,
      exit_start: 0, exit_stop: 0.0099, exit_step: 0.0001,
    });
    // Calibrate on 1,000 pairs (which also loads the games into shared memory), then size the job.
    const cal = await t.server.ask("submit", { grid: grid(10) });
    const calDone = await t.server.ask("wait", { job: cal.id }, 120_000);
    const calSeconds = Math.max(0.01, (calDone.endedAt - cal.startedAt) / 1000);
    const entries = Math.max(10, Math.min(9000, Math.round((10 * ms) / 1000 / calSeconds)));
    const job = await t.server.ask("submit", { grid: grid(entries) });
    const c = await spawnClients(procs, n, t.url.replace(`/${JOB_ID}`, `/${job.id}`), false, true);
    t.clients = c.clients;
    // From here on: what the job's publishes bring (the state sent on connect is not a fan-out).
    await Promise.all(c.clients.map((x) => x.ask("reset")));
    const done = await t.server.ask("wait", { job: job.id }, ms * 6 + 60_000);
    const counted = (done.publishes as { seq: number; sourceAt?: number; at: number }[]).filter((p) => p.sourceAt !== undefined);
    const publishAges = new LatencyHist();
    for (const p of counted) publishAges.record(p.at - p.sourceAt!);
    const scores = await Promise.all(c.clients.map((x) => x.ask("score", { sources: counted.map((p) => [p.seq, p.sourceAt]) })));
    const ages = new LatencyHist();
    for (const r of scores) ages.merge(r.hist);
    const result: StalenessResult = {
      workers, games, pairs: entries * 100, jobSeconds: (done.endedAt - job.startedAt) / 1000, ages, publishAges,
      messages: scores.reduce((a, r) => a + r.messages, 0), unmatched: scores.reduce((a, r) => a + r.unmatched, 0), publishes: counted.length,
    };
    console.log(`  ${workers} worker(s): ${int(result.pairs)} pairs x ${games} games in ${result.jobSeconds.toFixed(1)} s; ` +
      `${counted.length} publishes with a count time; ${int(ages.n)} deliveries scored (${result.unmatched} without one: the final state); ` +
      `age at publish p50 ${ms2(publishAges.quantile(0.5))} p99 ${ms2(publishAges.quantile(0.99))} ms; ` +
      `at receipt p50 ${ms2(ages.quantile(0.5))} p99 ${ms2(ages.quantile(0.99))} max ${ms2(ages.max)} ms`);
    return result;
  } finally {
    await stopTarget(t);
  }
}

interface FloodResult {
  kind: string;
  readers: number;
  stalled: number;
  seconds: number;
  messagesPerSecond: number;
  readersP99: number;
  readerDeliveries: number;
  readerExpected: number;
  rssStartMB: number;
  rssPeakMB: number;
  rssEndMB: number;
  queuedPeakMB: number;
  closedAfterS: number | null;
  drops: number;
}

/**
 * The stalled clients of the size runs never get past the kernel: loopback takes about 4 MB per
 * socket (send and receive buffers) before the server queues a byte. Here a few readers let the
 * server publish as fast as its pump goes (about one message per ms) long enough for the stalled
 * sockets to fill the kernel and then the server's own queue: bounded, or not.
 */
async function runFlood(kind: string, readers: number, stalledN: number, ms: number): Promise<FloodResult> {
  const t = await startTarget(kind, readers, stalledN);
  try {
    const c = await spawnClients(1, readers, t.url);
    t.clients = c.clients;
    t.relay = ackRelay(t.server, c.clients);
    t.stalled = new Child(import.meta.path, ["__client"]);
    await withTimeout(t.stalled.ready, 20_000, "stalled client start");
    const st = await t.stalled.ask("connect", { url: t.url, n: stalledN, concurrency: stalledN, acks: false, timeoutMs: 10_000 }, 15_000);
    t.stalled.proc.kill("SIGSTOP");
    const start = await t.server.ask("measure", { gc: true });
    const acc = new PhaseAcc();
    let finished = false;
    const flood = round(t, acc, "flood", () => t.server.ask("burst", { window: 1000, ms }, ms + 30_000), true).finally(() => (finished = true));
    const t0 = performance.now();
    let peakRss = start.rss;
    let peakQueued = start.buffered;
    let closedAfterS: number | null = null;
    let last = start;
    while (!finished) {
      await Promise.race([flood, sleep(5000)]);
      if (finished) break;
      last = await t.server.ask("measure");
      const at = (performance.now() - t0) / 1000;
      peakRss = Math.max(peakRss, last.rss);
      peakQueued = Math.max(peakQueued, last.buffered);
      if (closedAfterS === null && last.connections <= readers) closedAfterS = at;
      console.log(`    ${at.toFixed(0).padStart(3)} s: ${int((last.seq - start.seq) / at)} msg/s, RSS ${mb(last.rss).toFixed(1)} MB, ` +
        `queued ${last.buffered < 0 ? "not visible" : `${mb(last.buffered).toFixed(1)} MB`}, ${last.connections} connections, drops ${last.drops}`);
    }
    await flood;
    const end = await t.server.ask("measure", { gc: true });
    if (closedAfterS === null && end.connections <= readers) closedAfterS = (performance.now() - t0) / 1000;
    return {
      kind, readers, stalled: st.opened, seconds: ms / 1000, messagesPerSecond: (end.seq - start.seq) / (ms / 1000),
      readersP99: acc.p99, readerDeliveries: acc.deliveries, readerExpected: acc.expected, rssStartMB: mb(start.rss), rssPeakMB: mb(Math.max(peakRss, end.rss)),
      rssEndMB: mb(end.rss), queuedPeakMB: peakQueued < 0 ? NaN : mb(Math.max(peakQueued, end.buffered)), closedAfterS, drops: end.drops,
    };
  } finally {
    await stopTarget(t);
  }
}

interface EvCounts {
  messages: number; dups: number; gaps: number; missing: number; epochMismatch: number; epochChanged: number;
  recovered: number; notRecovered: number; replayExpected: number; errors: number; firstError: string; dupClients: number; gapClients: number;
}

function sumEv(list: EvCounts[]): EvCounts {
  const out: EvCounts = { messages: 0, dups: 0, gaps: 0, missing: 0, epochMismatch: 0, epochChanged: 0, recovered: 0, notRecovered: 0, replayExpected: 0, errors: 0, firstError: "", dupClients: 0, gapClients: 0 };
  for (const e of list) {
    for (const k of Object.keys(out) as (keyof EvCounts)[]) if (k !== "firstError") (out[k] as number) += e[k] as number;
    out.firstError ||= e.firstError;
  }
  return out;
}

function diffEv(a: EvCounts, b: EvCounts): EvCounts {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof EvCounts)[]) if (k !== "firstError") (out[k] as number) = (a[k] as number) - (b[k] as number);
  return out;
}

interface RecoveryRound {
  /** From the moment the clients began to reconnect until the last had every message up to the head its confirmation named. */
  allCaughtMs: number;
  p50: number;
  p99: number;
  /** From the same moment until the server confirmed the resubscription (replay about to follow). */
  confirmedP50: number;
  confirmedMax: number;
  caughtUp: number;
  failed: number;
  /** The seqs the confirmations named minus the clients' `since`, summed; and what the server says it replayed. */
  replayedClients: number;
  replayedServer: number;
  recoveries: number;
  ev: EvCounts;
}

interface RecoveryResult {
  clients: number;
  opened: number;
  rate: number;
  offlineMs: number;
  published: number;
  rounds: RecoveryRound[];
  /** Clients short of the last seq after publishing stopped, and what they all counted over the phase. */
  behind: number;
  total: EvCounts;
}

/**
 * Issue 13's recovery: `n` clients follow one event topic while it publishes at `rate` messages/s;
 * each round every client drops its socket at once, stays away `offlineMs`, then all reconnect
 * together and resubscribe with `since`. Every client counts by seq what it got twice or never.
 */
async function runRecovery(n: number, procs: number, rate: number, rounds: number, offlineMs: number, liveMs: number): Promise<RecoveryResult> {
  // Room for the old sockets the server has not seen close yet beside the new ones.
  const t = await startTarget("history", n, 0, 50, 1, [], 2 * n + 200);
  try {
    const c = await spawnClients(procs, n, t.url, false, false, t.topic);
    t.clients = c.clients;
    console.log(`  ${c.opened} of ${n} clients subscribed to ${EVENT_TOPIC} in ${c.seconds.toFixed(1)} s (${c.failed} failed); publishing ${rate}/s`);
    const plannedMs = rounds * (liveMs + offlineMs + 40_000) + liveMs;
    const publishing = t.server.ask("steady", { rate, ms: plannedMs }, plannedMs + 30_000);
    const out: RecoveryRound[] = [];
    let previous = sumEv((await Promise.all(c.clients.map((x) => x.ask("report")))).map((r) => r.counts));
    for (let r = 0; r < rounds; r++) {
      await sleep(liveMs);
      const h0 = (await t.server.ask("position")).history;
      const drops = await Promise.all(c.clients.map((x) => x.ask("drop", { offlineMs, timeoutMs: 30_000 }, 45_000)));
      const h1 = (await t.server.ask("position")).history;
      const start = Math.min(...drops.map((d) => d.reconnectAt));
      const after = new LatencyHist();
      const confirmed = new LatencyHist();
      let last = start;
      for (const d of drops) {
        for (const ms of d.confirmed as number[]) confirmed.record(d.reconnectAt - start + ms);
        for (const ms of d.after as number[]) {
          after.record(d.reconnectAt - start + ms);
          last = Math.max(last, d.reconnectAt + ms);
        }
      }
      const ev = sumEv(drops.map((d) => d.counts));
      const delta = diffEv(ev, previous);
      previous = ev;
      const round: RecoveryRound = {
        allCaughtMs: last - start, p50: after.quantile(0.5), p99: after.quantile(0.99), confirmedP50: confirmed.quantile(0.5), confirmedMax: confirmed.max,
        caughtUp: drops.reduce((a, d) => a + d.caughtUp, 0), failed: drops.reduce((a, d) => a + d.failed, 0),
        replayedClients: delta.replayExpected, replayedServer: h1.replayed - h0.replayed, recoveries: h1.recoveries - h0.recoveries, ev: delta,
      };
      out.push(round);
      console.log(`  round ${r + 1}: ${round.caughtUp} of ${n} caught up, the last ${ms2(round.allCaughtMs)} ms after they began to reconnect ` +
        `(p50 ${ms2(round.p50)}, p99 ${ms2(round.p99)}; resubscribed p50 ${ms2(round.confirmedP50)}, last ${ms2(round.confirmedMax)}); replayed ${int(round.replayedServer)} (clients expected ${int(round.replayedClients)}); ` +
        `recovered ${delta.recovered}, not ${delta.notRecovered}; duplicates ${delta.dups}, gaps ${delta.gaps} (${delta.missing} messages missing)` +
        `${round.failed ? `; ${round.failed} failed to reconnect` : ""}${delta.errors ? `; errors ${delta.errors}: ${delta.firstError}` : ""}`);
    }
    await sleep(liveMs);
    t.server.tell("halt");
    const done = await publishing;
    const { seq } = await t.server.ask("position");
    const settled = await Promise.all(c.clients.map((x) => x.ask("settle", { upto: seq, timeoutMs: 15_000 }, 20_000)));
    const total = sumEv(settled.map((s) => s.counts));
    return {
      clients: n, opened: c.opened, rate, offlineMs, published: done.published, rounds: out,
      behind: settled.reduce((a, s) => a + s.behind, 0), total,
    };
  } finally {
    await stopTarget(t);
  }
}

interface MemoryResult {
  topics: number;
  messagesPerTopic: number;
  emitted: number;
  heldTopics: number;
  heldMessages: number;
  bytes: number;
  rssDelta: number;
  emitUsPerMessage: number;
  maxBytes: number;
}

/** The history's memory: `topics` live games, each with `messages` one-tick messages held (the bytes cap raised to hold them all). */
async function runHistoryMemory(topics: number, messages: number, maxMb: number): Promise<MemoryResult> {
  const maxBytes = maxMb * 1024 * 1024;
  const t = await startTarget("history", 0, 0, 50, 1, [
    // No starter copies (they would hold the same messages a while longer) and a cap that holds them all.
    "--starter-delay-ms", "0", "--history-max-bytes", String(maxBytes), "--history-size", String(messages),
  ]);
  try {
    const f = await t.server.ask("fill", { topics, messages }, 600_000);
    // What the history holds in all (the ingest's own first message per game has made way for the
    // bench's: each topic holds exactly --history-size); the RSS delta is from after the ingest.
    const r: MemoryResult = {
      topics, messagesPerTopic: messages, emitted: f.emitted, heldTopics: f.history.topics, heldMessages: f.history.messages,
      bytes: f.history.bytes, rssDelta: f.rssAfter - f.rssBefore, emitUsPerMessage: (f.emitMs * 1000) / f.emitted, maxBytes,
    };
    console.log(`  ${int(r.emitted)} messages emitted on ${topics} live games in ${(f.emitMs / 1000).toFixed(1)} s (${r.emitUsPerMessage.toFixed(2)} us each); ` +
      `history holds ${int(r.heldMessages)} messages on ${r.heldTopics} topics, ${mb(r.bytes).toFixed(1)} MB of messages; server RSS +${mb(r.rssDelta).toFixed(1)} MB`);
    return r;
  } finally {
    await stopTarget(t);
  }
}

function printRecovery(rec: RecoveryResult | undefined, memory: MemoryResult | undefined, results: Map<number, Target[]>): void {
  const W = 58;
  const line = (label: string, value: string) => console.log(`${label.padEnd(W)}${value}`);
  const fanout = [...results].filter(([, ts]) => ts.some((t) => t.kind === "history") && ts.some((t) => t.kind === "bare"));
  if (fanout.length) {
    console.log("\nfan-out with history on (an event topic on /ws) against the bare Bun server, same run: history vs bare (goal: burst at least 0.80x)");
    for (const [n, ts] of fanout) {
      const h = ts.find((t) => t.kind === "history")!;
      const b = ts.find((t) => t.kind === "bare")!;
      const x = (a: number, z: number) => (Number.isFinite(a / z) ? `${(a / z).toFixed(2)}x` : "-");
      const at = `  ${n.toLocaleString("en")} subscribers:`;
      line(`${at} burst deliveries/s (the goal)`, `${int(h.burst.perSecond)} vs ${int(b.burst.perSecond)}: ${x(h.burst.perSecond, b.burst.perSecond)}`);
      line(`${at} steady deliveries/s`, `${int(h.steady.perSecond)} vs ${int(b.steady.perSecond)}: ${x(h.steady.perSecond, b.steady.perSecond)}`);
      line(`${at} steady p99, ms (lower is better)`, `${ms2(h.steady.p99)} vs ${ms2(b.steady.p99)}: ${x(h.steady.p99, b.steady.p99)}`);
      line(`${at} burst CPU s/1M (lower is better)`, `${ms2(h.burst.cpuPerMillion)} vs ${ms2(b.burst.cpuPerMillion)}: ${x(h.burst.cpuPerMillion, b.burst.cpuPerMillion)}`);
    }
  }
  if (rec) {
    console.log(`\nrecovery: ${rec.opened.toLocaleString("en")} clients on one event topic at ${rec.rate} messages/s; each round all drop, ` +
      `stay away ${rec.offlineMs} ms, reconnect together with since (goal: 0 duplicates, 0 gaps)`);
    rec.rounds.forEach((r, i) => {
      line(`  round ${i + 1}: all caught up after, ms`, `${ms2(r.allCaughtMs)} (per client p50 ${ms2(r.p50)}, p99 ${ms2(r.p99)}; ${r.caughtUp} of ${rec.clients}${r.failed ? `, ${r.failed} failed` : ""})`);
      line(`  round ${i + 1}: resubscribed (confirmed) after, ms`, `p50 ${ms2(r.confirmedP50)}, last ${ms2(r.confirmedMax)}`);
      line(`  round ${i + 1}: replayed messages`, `${int(r.replayedServer)} (${int(r.replayedServer / Math.max(1, r.recoveries))} per client; recovered ${r.ev.recovered}, not ${r.ev.notRecovered})`);
      line(`  round ${i + 1}: duplicates / gaps`, `${r.ev.dups} / ${r.ev.gaps}`);
    });
    const t = rec.total;
    line("  whole phase: messages published", int(rec.published));
    line("  whole phase: messages received by clients", `${int(t.messages)} (${rec.behind} clients short of the last seq at the end)`);
    line("  whole phase: duplicates / gaps (clients hit)", `${t.dups} / ${t.gaps} (${t.dupClients} / ${t.gapClients}); ${t.missing} messages never received`);
    line("  whole phase: epoch mismatches / changes", `${t.epochMismatch} / ${t.epochChanged}`);
  }
  if (memory) {
    const m = memory;
    const per = m.heldMessages > 0 ? m.bytes / m.heldMessages : NaN;
    console.log(`\nhistory memory: ${m.topics.toLocaleString("en")} event topics (live games) x ${m.messagesPerTopic.toLocaleString("en")} one-tick messages, ` +
      `--history-max-bytes raised to ${(m.maxBytes / 1024 / 1024).toFixed(0)} MiB so that all are held`);
    line("  held: topics / messages", `${int(m.heldTopics)} / ${int(m.heldMessages)}`);
    line("  hub.stats().history.bytes, MB", `${mb(m.bytes).toFixed(1)} (${per.toFixed(0)} bytes a message)`);
    line("  server RSS delta, MB", `${mb(m.rssDelta).toFixed(1)} (${(m.rssDelta / m.bytes).toFixed(2)}x the counted bytes)`);
    line("  emit + render + record, us a message", m.emitUsPerMessage.toFixed(2));
    const fit = Math.floor(HISTORY_DEFAULTS.maxBytes / per / m.topics);
    line(`  at the default ${HISTORY_DEFAULTS.maxBytes / 1024 / 1024} MiB cap, per topic`, `about ${int(fit)} messages of this size at ${m.topics.toLocaleString("en")} topics`);
  }
}

async function runParent(): Promise<void> {
  const sizes = opt.sizes!.split(",").filter((x) => x.trim() !== "").map(Number).filter((n) => n > 0);
  const servers = opt.servers!.split(",");
  const procs = Number(opt["client-procs"]);
  const steady = Number(opt.steady);
  const roundMs = Number(opt["round-s"]) * 1000;
  const burstRounds = Number(opt["burst-rounds"]);
  const slowRounds = Number(opt["slow-rounds"]);
  const stalledN = Number(opt.stalled);
  const holdMs = Number(process.env.BENCH_WS_HOLD_S ?? 60) * 1000;
  const stalenessSize = Number(opt["staleness-size"]);
  const stalenessMs = Number(opt["staleness-s"]) * 1000;
  const stalenessWorkers = opt["staleness-workers"]!.split(",").map(Number);
  const largest = Math.max(0, ...sizes);
  fdLimits = readFdLimits();
  const hold = (n: number) => (n === largest ? holdMs : Math.min(holdMs, 15_000));

  // The watchdog: every phase below has its own timeouts; this catches what they cannot.
  const perSize = (n: number) => servers.length * (90_000 + n * 3 + (burstRounds + 2 * slowRounds) * (roundMs + 20_000)) + hold(n) * 1.5;
  const floodMs = Number(opt["flood-s"]) * 1000;
  const floodServers = floodMs > 0 ? opt["flood-servers"]!.split(",") : [];
  const recoveryClients = Number(opt["recovery-clients"]);
  const recoveryRounds = Number(opt["recovery-rounds"]);
  const recoveryOfflineMs = Number(opt["recovery-offline-ms"]);
  const recoveryLiveMs = Number(opt["recovery-live-s"]) * 1000;
  const historyTopics = Number(opt["history-topics"]);
  const budget = sizes.reduce((a, n) => a + perSize(n), 0) + (stalenessSize ? stalenessWorkers.length * (240_000 + stalenessMs * 3) : 0) +
    floodServers.length * (floodMs + 120_000) + (recoveryClients > 0 ? 120_000 + recoveryRounds * (recoveryLiveMs + recoveryOfflineMs + 60_000) : 0) +
    (historyTopics > 0 ? 600_000 : 0);
  const watchdog = setTimeout(() => {
    console.error(`bench-ws: over its time budget (${Math.round(budget / 1000)} s): killing every child and giving up`);
    process.exit(1);
  }, budget);

  console.log(`bench-ws: sizes ${sizes.join(", ")}; servers ${servers.join(", ")}; ${procs} client processes per server; ` +
    `steady ${steady} deliveries/s; largest size held ${holdMs / 1000} s; rounds of ${roundMs / 1000} s; ` +
    `fds soft ${fdLimits.soft}, hard ${fdLimits.hard} (Bun raises soft to hard itself; it has no setrlimit); ` +
    `bun ${Bun.version}; ${navigator.hardwareConcurrency} cores; budget ${Math.round(budget / 1000)} s`);

  const results = new Map<number, Target[]>();
  for (const n of sizes) {
    const need = n + stalledN + 256;
    if (need > fdLimits.hard) {
      console.log(`skipping ${n} subscribers: the server needs ${need} file descriptors, the hard limit is ${fdLimits.hard} (raise it: ulimit -Hn as root, or LimitNOFILE=)`);
      continue;
    }
    console.log(`\n== ${n} subscribers`);
    results.set(n, await runSize(n, servers, { procs, rate: steady / n, holdMs: hold(n), roundMs, burstRounds, slowRounds, stalledN, window: opt.window }));
  }
  const staleness: StalenessResult[] = [];
  if (stalenessSize > 0 && servers.includes("gridcast")) {
    console.log(`\n== staleness: a real grid search on gridcast at the default 50 ms tick, ${stalenessSize} subscribers of its socket`);
    for (const w of stalenessWorkers) staleness.push(await runStaleness(stalenessSize, procs, w, Number(opt["staleness-games"]), stalenessMs));
  }
  const floods: FloodResult[] = [];
  for (const kind of floodServers) {
    console.log(`\n== flood: ${kind}, ${opt["flood-readers"]} readers and ${stalledN} stalled clients, publishing as fast as the pump goes for ${floodMs / 1000} s`);
    floods.push(await runFlood(kind, Number(opt["flood-readers"]), stalledN, floodMs));
  }
  let recovery: RecoveryResult | undefined;
  if (recoveryClients > 0) {
    console.log(`\n== recovery: ${recoveryClients} clients of ${EVENT_TOPIC} at ${opt["recovery-rate"]} messages/s, ${recoveryRounds} rounds of drop, ${recoveryOfflineMs} ms away, reconnect with since`);
    recovery = await runRecovery(recoveryClients, procs, Number(opt["recovery-rate"]), recoveryRounds, recoveryOfflineMs, recoveryLiveMs);
  }
  let memory: MemoryResult | undefined;
  if (historyTopics > 0) {
    console.log(`\n== history memory: ${historyTopics} event topics x ${opt["history-messages"]} messages`);
    memory = await runHistoryMemory(historyTopics, Number(opt["history-messages"]), Number(opt["history-max-mb"]));
  }
  clearTimeout(watchdog);
  printTable(results, servers, staleness, floods);
  printRecovery(recovery, memory, results);
}

function printTable(results: Map<number, Target[]>, servers: string[], staleness: StalenessResult[], floods: FloodResult[]): void {
  type Row = { label: string; get: (t: Target) => number; d?: number; ratio?: boolean; text?: (t: Target) => string };
  const rows: Row[] = [
    { label: "connect N sockets, s", get: (t) => t.connectSeconds, d: 1 },
    { label: "RSS per idle connection, KB", get: (t) => (t.rssIdle - t.rssBase) / 1024 / t.n, ratio: true },
    { label: "held s / dropped", get: (t) => t.dropped, text: (t) => `${t.heldSeconds.toFixed(0)} / ${t.dropped}` },
    { label: "steady: messages/s published", get: (t) => t.rate, d: 1 },
    { label: "steady: deliveries/s", get: (t) => t.steady.perSecond, d: 0, ratio: true },
    { label: "steady: fan-out p50, ms", get: (t) => t.steady.p50, ratio: true },
    { label: "steady: fan-out p99, ms", get: (t) => t.steady.p99, ratio: true },
    { label: "steady: p99, median of rounds, ms", get: (t) => t.steady.medianP99, ratio: true },
    { label: "steady: fan-out max, ms", get: (t) => t.steady.max, ratio: true },
    { label: "steady: CPU s per 1M deliveries", get: (t) => t.steady.cpuPerMillion, ratio: true },
    { label: "steady:   of which user (not kernel)", get: (t) => t.steady.userPerMillion, ratio: true },
    { label: "burst: deliveries/s, no loss", get: (t) => t.burst.perSecond, d: 0, ratio: true },
    { label: "burst: fan-out p50, ms", get: (t) => t.burst.p50, ratio: true },
    { label: "burst: fan-out p99, ms", get: (t) => t.burst.p99, ratio: true },
    { label: "burst: p99, median of rounds, ms", get: (t) => t.burst.medianP99, ratio: true },
    { label: "burst: fan-out max, ms", get: (t) => t.burst.max, ratio: true },
    { label: "burst: CPU s per 1M deliveries", get: (t) => t.burst.cpuPerMillion, ratio: true },
    { label: "burst:   of which user (not kernel)", get: (t) => t.burst.userPerMillion, ratio: true },
    { label: "stalled: steady p99, ms", get: (t) => t.slowSteady.p99, ratio: true },
    { label: "stalled: steady p99 vs without, %", get: (t) => (t.slowSteady.p99 / t.steady.p99 - 1) * 100, d: 0 },
    { label: "stalled: steady median p99 vs w/o, %", get: (t) => (t.slowSteady.medianP99 / t.steady.medianP99 - 1) * 100, d: 0 },
    { label: "stalled: burst deliveries/s", get: (t) => t.slowBurst.perSecond, d: 0, ratio: true },
    { label: "stalled: burst p99, ms", get: (t) => t.slowBurst.p99, ratio: true },
    { label: "stalled: burst p99 vs without, %", get: (t) => (t.slowBurst.p99 / t.burst.p99 - 1) * 100, d: 0 },
    { label: "stalled: burst median p99 vs w/o, %", get: (t) => (t.slowBurst.medianP99 / t.burst.medianP99 - 1) * 100, d: 0 },
    { label: "stalled: server RSS change, MB", get: (t) => mb(t.rssAfterSlow - t.rssBeforeSlow), d: 1 },
    { label: "stalled: queued in server, MB", get: (t) => (t.buffered < 0 ? NaN : mb(t.buffered)) },
    { label: "stalled: closed by server / drops", get: (t) => t.stalledClosed, text: (t) => `${t.stalledClosed} / ${t.drops}` },
  ];
  const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toLocaleString("en", { maximumFractionDigits: d, minimumFractionDigits: d }) : "-");
  // Ratio columns: gridcast (and gridcast with history, on an event topic) over each other server.
  const ratios = ["gridcast", "history"].filter((g) => servers.includes(g))
    .flatMap((g) => ["bare", "elysia"].filter((k) => servers.includes(k) && (g === "gridcast" || k === "bare")).map((k) => [g, k] as const));
  const W = 38;
  const C = 13;
  console.log("\nbench-ws results. gridcast runs at --tick-ms 1 here (coalescing caps a topic at one message per tick by design);");
  console.log("latency: from the `ts` the server stamps into the state just before hub.set()/publish() to the client's receipt.");
  if (servers.includes("history")) {
    console.log(`history: gridcast publishing an event topic (${EVENT_TOPIC}, hub.emit, one message per event) to /ws subscribers, every message recorded in the topic's history first.`);
  }
  for (const [n, targets] of results) {
    const by = new Map(targets.map((t) => [t.kind, t]));
    console.log(`\n${`${n.toLocaleString("en")} subscribers`.padEnd(W)}${servers.map((s) => s.padStart(C)).join("")}${ratios.map(([g, k]) => `${g}/${k}`.padStart(C + 4)).join("")}`);
    for (const row of rows) {
      // The history server has no stalled rounds (see runSize).
      const shown = (t: Target | undefined): t is Target => t !== undefined && !(t.topic !== undefined && row.label.startsWith("stalled:"));
      const cells = servers.map((s) => {
        const t = by.get(s);
        return (shown(t) ? (row.text ? row.text(t) : fmt(row.get(t), row.d)) : "-").padStart(C);
      });
      const rs = ratios.map(([gk, k]) => {
        const g = by.get(gk);
        const o = by.get(k);
        const v = row.ratio && shown(g) && o ? row.get(g) / row.get(o) : NaN;
        return (Number.isFinite(v) ? `${v.toFixed(2)}x` : "").padStart(C + 4);
      });
      console.log(`${row.label.padEnd(W)}${cells.join("")}${rs.join("")}`);
    }
  }
  if (floods.length) {
    console.log(`\nflood: ${floods[0].readers} readers and ${floods[0].stalled} clients that never read (SIGSTOP), ${floods[0].seconds} s at full pump speed`);
    console.log(`${"".padEnd(W)}${floods.map((f) => f.kind.padStart(C)).join("")}`);
    const line = (label: string, get: (f: FloodResult) => string) => console.log(`${label.padEnd(W)}${floods.map((f) => get(f).padStart(C)).join("")}`);
    line("messages/s published", (f) => int(f.messagesPerSecond));
    line("readers: deliveries", (f) => int(f.readerDeliveries));
    line("readers: lost", (f) => int(f.readerExpected - f.readerDeliveries));
    line("readers: fan-out p99, ms", (f) => fmt(f.readersP99));
    line("server RSS start / peak / end, MB", (f) => `${f.rssStartMB.toFixed(0)}/${f.rssPeakMB.toFixed(0)}/${f.rssEndMB.toFixed(0)}`);
    line("queued in server, peak MB", (f) => fmt(f.queuedPeakMB, 1));
    line("stalled closed by server after, s", (f) => (f.closedAfterS === null ? "never" : f.closedAfterS.toFixed(0)));
    line("publishes with a drop", (f) => int(f.drops));
  }
  if (staleness.length) {
    // The goal: one tick plus gridcast's fan-out p99 at this many subscribers (from the steady phase).
    const n = Number(opt["staleness-size"]);
    const fanout = results.get(n)?.find((t) => t.kind === "gridcast")?.steady.p99;
    const budget = Number.isFinite(fanout) ? 50 + fanout! : NaN;
    console.log(`\nstaleness: a real grid search, default 50 ms tick, ${n.toLocaleString("en")} subscribers; the age at receipt of the newest unit a message counts, from the worker's Atomics.add`);
    const S = 22;
    console.log(`${"".padEnd(W)}${staleness.map((r) => `${r.workers} worker${r.workers === 1 ? "" : "s"}`.padStart(S)).join("")}`);
    const line = (label: string, get: (r: StalenessResult) => string) => console.log(`${label.padEnd(W)}${staleness.map((r) => get(r).padStart(S)).join("")}`);
    line("job: pairs x games, seconds", (r) => `${int(r.pairs)} x ${int(r.games)}, ${r.jobSeconds.toFixed(1)}`);
    line("publishes / deliveries scored", (r) => `${r.publishes} / ${int(r.ages.n)}`);
    line("age at publish p50 / p99, ms", (r) => `${fmt(r.publishAges.quantile(0.5), 1)} / ${fmt(r.publishAges.quantile(0.99), 1)}`);
    line("age at receipt p50, ms", (r) => fmt(r.ages.quantile(0.5)));
    line("age at receipt p99, ms", (r) => fmt(r.ages.quantile(0.99)));
    line("age at receipt max, ms", (r) => fmt(r.ages.max));
    line("goal: tick + fan-out p99, ms", () => fmt(budget));
    line("p99 / goal", (r) => (Number.isFinite(budget) ? `${(r.ages.quantile(0.99) / budget).toFixed(2)}x` : "-"));
  }
}

// ---------------------------------------------------------------------------------------------
const role = process.argv[2];
if (role === "__server") {
  await serverRole(process.argv[3], Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6] ?? 1), JSON.parse(process.argv[7] ?? "[]"));
} else if (role === "__client") {
  clientRole();
} else {
  try {
    await runParent();
    process.exit(0);
  } catch (error) {
    console.error("bench-ws failed:", error);
    process.exit(1);
  }
}
