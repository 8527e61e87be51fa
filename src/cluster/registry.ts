// The node registry (cluster.md, README "Several daemons (cluster)"): each daemon on a shared
// PostgreSQL holds one row of `nodes`, renewed every --heartbeat-ms; a row whose heartbeat is older
// than --lease-ms is a node gone, dropped from the list, and its id may be taken by a new daemon.
// A clean stop deletes the row at once. Job units and topics across nodes are not built on it yet.
//
// Times are epoch ms from the injected clock of each node (so tests move time without sleeping):
// the nodes' clocks must agree to well within the lease, as NTP keeps them.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { sql } from "drizzle-orm";
import type { Database } from "../db/database";
import { rootMessage } from "../db/disk";
import type { Logger } from "../log/logger";
import type { Clock } from "../realtime/transport";

/** One node as /health, GET /api/cluster and the ops page show it. */
export interface ClusterNode {
  id: string;
  host: string;
  port: number;
  started_at: string;
  last_heartbeat: string;
  workers: number;
  busy: number;
}

export interface ClusterView {
  nodes: ClusterNode[];
  self: string;
  /** The list is the last one read, not the store's current one: the store did not answer since
   *  `as_of` (or this node has not registered yet). The node keeps running meanwhile. */
  stale: boolean;
  as_of?: string;
  error?: string;
  /** What this node did for the cluster's jobs since it started (src/cluster/cluster-jobs.ts); PostgreSQL only. */
  jobs?: { units_helped: number; units_absorbed: number; claims: number; adopted: number; cancels_sent: number };
}

/** Another daemon that still heartbeats holds this node id: refused at start (exit code 2). */
export class NodeIdInUse extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NodeIdInUse";
  }
}

export interface RegistryDeps {
  /** The open database (throws store_unavailable while it is not). */
  database: () => Database;
  clock: Clock;
  /** Stored on PostgreSQL; on PGlite the registry is this node alone (see soloRegistry). */
  shared: boolean;
  /** `host` and `port`: where this process already listens (a restart on them proves their old holder dead). */
  self: { id: string; host: string; port: number; version: string };
  heartbeatMs: number;
  leaseMs: number;
  /** This node's worker threads and how many are busy, read at each heartbeat. */
  counts: () => { workers: number; busy: number };
  logger: Logger;
}

export interface ClusterRegistry {
  /** Registers this node (NodeIdInUse if a live one holds its id), then heartbeats. */
  start(): Promise<void>;
  /** Stops the heartbeat and deletes this node's row; never rejects. */
  stop(): Promise<void>;
  /** The last list read (for /health: no store round trip of its own). */
  view(): ClusterView;
  /** Reads the list from the store now; on failure the last one, marked stale. */
  refresh(): Promise<ClusterView>;
}

/** A listen address that names every interface says nothing to other nodes: the host name does. */
export function advertisedHost(listenHost: string): string {
  const h = listenHost.replace(/^\[(.*)\]$/, "$1");
  return h === "0.0.0.0" || h === "::" || h === "" ? hostname() : listenHost;
}

/** The default --node-id: host name and port, made to fit the rule of nodeIdProblem (settings.ts). */
export function defaultNodeId(host: string, port: number): string {
  const name = host.replace(/[^A-Za-z0-9._:-]/g, "-").replace(/^[^A-Za-z0-9]+/, "") || "node";
  return `${name.slice(0, 120)}:${port}`;
}

export function createClusterRegistry(deps: RegistryDeps): ClusterRegistry {
  return deps.shared ? storedRegistry(deps) : soloRegistry(deps);
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * PGlite: one node, itself. Its data dir is locked to one process (src/db/lock.ts), so no other
 * daemon can share this store and there is nobody to tell; nothing is stored, and the view is
 * this process's own figures at the moment it is asked.
 */
function soloRegistry(deps: RegistryDeps): ClusterRegistry {
  const startedAt = deps.clock.now();
  const view = (): ClusterView => {
    const now = deps.clock.now();
    const { host, port, id } = deps.self;
    return { nodes: [{ id, host, port, started_at: iso(startedAt), last_heartbeat: iso(now), ...deps.counts() }], self: id, stale: false, as_of: iso(now) };
  };
  return { start: async () => {}, stop: async () => {}, view, refresh: async () => view() };
}

interface NodeRow { id: string; host: string; port: number; started_at: string | number; last_heartbeat: string | number; workers: number; busy: number }

function storedRegistry(deps: RegistryDeps): ClusterRegistry {
  const { self, clock, leaseMs } = deps;
  const log = deps.logger;
  // The process that holds the row: a heartbeat renews only its own, never one another took over.
  // It starts with the machine's name, so a restart on the same machine can tell its own dead row.
  const machine = `${hostname()}/`;
  const instance = `${machine}${process.pid}/${randomUUID()}`;
  // Whole ms: the columns are bigint, and the system clock has fractions.
  const now = () => Math.round(clock.now());
  const startedAt = now();
  let nodes: ClusterNode[] = [];
  let asOf: number | undefined;
  let failure: string | undefined;
  /** Why this node holds no row though it runs (another process took its id), if so. */
  let displaced: string | undefined;
  let registered = false;
  let stopped = false;
  let timer: unknown;
  let beating: Promise<void> | undefined;

  /** Inserts or renews this node's row; false when a live node of another process holds the id. */
  const claim = async (database: Database): Promise<boolean> => {
    const at = now();
    const { workers, busy } = deps.counts();
    const rows = await database.rows(sql`
      insert into nodes (id, instance, host, port, started_at, last_heartbeat, workers, busy, version)
      values (${self.id}, ${instance}, ${self.host}, ${self.port}, ${startedAt}, ${at}, ${workers}, ${busy}, ${self.version})
      on conflict (id) do update set instance = excluded.instance, host = excluded.host, port = excluded.port,
        started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat, workers = excluded.workers,
        busy = excluded.busy, version = excluded.version
      where nodes.instance = excluded.instance or nodes.last_heartbeat < ${at - leaseMs}
        -- Same machine, same address and port: this process listens there now, so the row's
        -- holder is dead (a restart after kill -9 need not wait out the lease).
        or (left(nodes.instance, ${machine.length}) = ${machine} and nodes.host = excluded.host and nodes.port = excluded.port)
      returning id`);
    return rows.length > 0;
  };

  const read = async (database: Database): Promise<void> => {
    const at = now();
    const rows = await database.rows<NodeRow>(sql`
      select id, host, port, started_at, last_heartbeat, workers, busy from nodes
      where last_heartbeat >= ${at - leaseMs} order by id`);
    nodes = rows.map((r) => ({
      id: r.id, host: r.host, port: Number(r.port), started_at: iso(Number(r.started_at)), last_heartbeat: iso(Number(r.last_heartbeat)),
      workers: Number(r.workers), busy: Number(r.busy),
    }));
    asOf = at;
    failure = undefined;
  };

  const holderOf = async (database: Database): Promise<string> => {
    const [row] = await database.rows<{ host: string; port: number; version: string; last_heartbeat: string | number }>(
      sql`select host, port, version, last_heartbeat from nodes where id = ${self.id}`);
    if (!row) return "another daemon";
    const ago = Math.max(0, now() - Number(row.last_heartbeat));
    return `the daemon at ${row.host}:${row.port} (gridcast ${row.version}, last heartbeat ${ago} ms ago)`;
  };

  const beat = async (): Promise<void> => {
    try {
      const database = deps.database();
      if (!(await claim(database))) {
        // Taken over while this node was cut off past its lease: it stays a node of no row until
        // the other one stops or dies, and says so.
        const message = `node id ${self.id} is held by ${await holderOf(database)}`;
        if (displaced === undefined) log.error("node id taken by another daemon", { node: self.id, error: message });
        displaced = message;
      } else {
        displaced = undefined;
      }
      await read(database);
    } catch (err) {
      const message = rootMessage(err);
      if (failure === undefined) log.warn("cluster heartbeat failed: the node list is stale until the store answers", { node: self.id, error: message });
      failure = message;
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = clock.setTimeout(() => {
      // Background loop: beat() never rejects, and the next one waits for this one to end.
      beating = beat().finally(() => {
        beating = undefined;
        schedule();
      });
    }, deps.heartbeatMs);
  };

  const view = (): ClusterView => {
    const breaker = registered ? safeBreakerState(deps.database) : undefined;
    const unreachable = breaker === "open" ? "the store is unavailable (breaker open)" : failure;
    const stale = !registered || asOf === undefined || unreachable !== undefined;
    const error = unreachable ?? displaced ?? (registered ? undefined : "not registered yet");
    return { nodes, self: self.id, stale, ...(asOf !== undefined && { as_of: iso(asOf) }), ...(error !== undefined && { error }) };
  };

  return {
    async start() {
      const database = deps.database();
      // Rows of nodes long gone (an hour, or ten leases) are pruned rather than kept for ever.
      await database.rows(sql`delete from nodes where last_heartbeat < ${now() - Math.max(3_600_000, 10 * leaseMs)}`);
      if (!(await claim(database))) {
        throw new NodeIdInUse(`node id ${self.id} is in use by ${await holderOf(database)}: stop it, or wait --lease-ms (${leaseMs} ms) after it died, or start this daemon with another --node-id`);
      }
      registered = true;
      await read(database);
      log.info("joined the cluster", { node: self.id, nodes: nodes.length });
      schedule();
    },
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      await beating;
      if (!registered) return;
      registered = false;
      try {
        await deps.database().rows(sql`delete from nodes where id = ${self.id} and instance = ${instance}`);
      } catch (err) {
        log.warn("could not remove this node's row: the others drop it when its lease runs out", { node: self.id, error: err as Error });
      }
    },
    view,
    async refresh() {
      if (registered) {
        try {
          await read(deps.database());
        } catch (err) {
          failure = rootMessage(err);
        }
      }
      return view();
    },
  };
}

function safeBreakerState(database: () => Database): string | undefined {
  try {
    return database().breaker.snapshot().state;
  } catch {
    return undefined; // not open (closing, failed): the heartbeat's own failure says so
  }
}
