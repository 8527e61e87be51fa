// A real tiny Elysia app with the realtime routes on port 0, and WebSocket clients that queue what
// they receive. Everything opened here is closed by closeAll() (call it in afterEach).
// The hub, the registry and the socket table run on a FakeClock: a test moves their time itself
// (ticks, slow-consumer grace, metrics intervals) with `clock.advance`, so none sleeps for it.
import { createApp } from "../../src/http/app";
import { silentLogger } from "../../src/log/logger";
import { createHub, type Hub, type HubDeps } from "../../src/realtime/hub";
import { mountRealtime, type MountOptions, type Realtime } from "../../src/realtime/elysia";
import { createRegistry } from "../../src/realtime/registry";
import { resolveRealtimeSettings, websocketOptions, type RealtimeSettings } from "../../src/realtime/settings";
import { createLateTransport } from "../../src/realtime/transport";
import { mountProtocolRoutes } from "../../src/http/routes/sockets";
import { FakeClock, MemoryLogger } from "./fakes";

const open: { close(): unknown }[] = [];

export interface HarnessOptions {
  settings?: Partial<RealtimeSettings>;
  hub?: Partial<HubDeps>;
  mount?: Partial<MountOptions>;
  /** Runs after mounting, before listen: where pages add formats and routes. */
  beforeListen?: (parts: { hub: Hub; realtime: Realtime }) => void;
}

export async function startServer(options: HarnessOptions = {}) {
  const settings = resolveRealtimeSettings({ tickMs: 20, ...options.settings });
  const transport = createLateTransport();
  // Counts what the hub hands Bun: one publish per wire topic per tick is the promise.
  const publishes: string[] = [];
  const counted = {
    publish: (wire: string, data: string) => (publishes.push(wire), transport.publish(wire, data)),
    subscriberCount: (wire: string) => transport.subscriberCount(wire),
  };
  const logger = new MemoryLogger();
  const clock = new FakeClock();
  const hub = createHub({ transport: counted, tickMs: settings.tickMs, logger, clock, ...options.hub });
  const registry = createRegistry({
    maxConnections: settings.maxConnections, maxConnectionsPerIp: settings.maxConnectionsPerIp, published: hub.published, latestSeq: hub.seqOfWire, logger, clock,
  });
  // The real app, for its one error path (the binding throws domain errors: 403, 426...).
  const app = createApp({ version: "test", logger: silentLogger, websocket: websocketOptions(settings) });
  const realtime = mountRealtime(app, { hub, registry, settings, transport, logger, clock, ...options.mount });
  mountProtocolRoutes(app, realtime);
  options.beforeListen?.({ hub, realtime });
  app.listen({ port: 0, hostname: "127.0.0.1" });
  const port = app.server!.port!;
  const server = { close: () => app.stop(true).catch(() => {}) };
  open.push(server);
  return { app, hub, registry, realtime, settings, logger, clock, publishes, port, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}

export type Json = Record<string, any>;

export class Client {
  readonly inbox: Json[] = [];
  readonly raw: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  private wake: (() => void) | null = null;
  isClosed = false;

  private constructor(url: string, headers?: Record<string, string>) {
    this.raw = new WebSocket(url, headers ? ({ headers } as never) : undefined);
    this.raw.onmessage = (e) => {
      const text = typeof e.data === "string" ? e.data : Buffer.from(e.data as ArrayBuffer).toString();
      let msg: Json;
      try { msg = JSON.parse(text); } catch { msg = { text }; }
      this.inbox.push(msg);
      this.wake?.();
    };
    this.closed = new Promise((resolve) => {
      this.raw.onclose = (e) => {
        this.isClosed = true;
        resolve({ code: e.code, reason: e.reason });
        this.wake?.();
      };
    });
    open.push(this);
  }

  /** Resolves once open; rejects if the server refuses or closes before that. */
  static connect(url: string, headers?: Record<string, string>): Promise<Client> {
    const c = new Client(url, headers);
    return new Promise((resolve, reject) => {
      c.raw.onopen = () => resolve(c);
      c.closed.then((e) => reject(Object.assign(new Error(`closed before open: ${e.code}`), e)));
    });
  }

  /** Opens without waiting: for sockets the server may close at once. */
  static start(url: string, headers?: Record<string, string>): Client {
    return new Client(url, headers);
  }

  send(msg: unknown): void {
    this.raw.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** Removes and returns the first queued message matching `match`, waiting for it if needed. */
  async next(match: (m: Json) => boolean = () => true, timeoutMs = 3000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      if (this.isClosed) throw new Error(`closed while waiting; inbox: ${JSON.stringify(this.inbox).slice(0, 500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; inbox: ${JSON.stringify(this.inbox).slice(0, 500)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); r(); };
      });
      this.wake = null;
    }
  }

  /** A ping round trip: everything the server sent before the pong is in the inbox afterwards. */
  async sync(): Promise<void> {
    const id = `sync-${Math.random()}`;
    this.send({ type: "ping", id });
    await this.next((m) => m.type === "pong" && m.id === id);
  }

  close(): void {
    if (!this.isClosed) this.raw.close();
  }
}

export const ofType = (type: string) => (m: Json) => m.type === type;

export async function closeAll(): Promise<void> {
  const all = open.splice(0);
  for (const c of all) if (c instanceof Client) c.close();
  await Promise.all(all.filter((c) => !(c instanceof Client)).map((s) => s.close()));
}

export const progress = (current: number, status = "running", total = 100) => ({ status, current, total, current_combo: `c${current}` });
