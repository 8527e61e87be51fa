// The cluster bus (cluster.md "Topics cross nodes"): small messages between the daemons that share
// a PostgreSQL, sent as NOTIFY on one channel and heard through one LISTEN connection per node
// (src/cluster/pg-bus.ts). Messages say what changed (ids, counts, small snapshots); a node reads
// the rest from the store. Nothing here knows the hub: the modules that bridge a topic (jobs,
// live, signals, sessions) send and handle their own message types.
//
// On PGlite there is one node and the bus is `soloBus`: sends go nowhere, handlers never run.

/** One message: `t` names its type (a handler per type); the rest is the type's own JSON. */
export interface BusMessage {
  t: string;
  [field: string]: unknown;
}

export interface BusStatus {
  /** False while the LISTEN connection is down or has not proven itself (its own ping did not come back). */
  listening: boolean;
  /** Messages and NOTIFYs this node sent, and messages it received from others, since start. */
  sent: number;
  notifications: number;
  received: number;
  /** Messages not sent: too big for one NOTIFY, not JSON, or over the queue's bound while the store refused NOTIFYs. */
  dropped: number;
  /** Notifications heard on the channel that were not gridcast messages (not JSON, no type): ignored. */
  rejected: number;
  /** When `listening` last changed, ISO 8601. */
  since?: string;
  error?: string;
}

export interface ClusterBus {
  /** This node's id: the `from` of what it sends. */
  readonly self: string;
  /**
   * Queues a message for every other node. Messages are sent together at the next flush (one
   * NOTIFY per flush while they fit PostgreSQL's payload limit). With `key`, a later message of
   * the same key replaces a queued one (the newest snapshot of a job is all that counts).
   */
  send(message: BusMessage, key?: string): void;
  /** Hears messages of type `t` from other nodes (never this node's own). */
  on(t: string, handler: (message: BusMessage, from: string) => void): void;
  /** Runs after the LISTEN connection came back: notifications may have been missed meanwhile. */
  onResync(handler: () => void): void;
  status(): BusStatus;
  start(): Promise<void>;
  /** Sends what is queued, then stops listening; never rejects. */
  stop(): Promise<void>;
}

/** The bus of a node alone (PGlite, or a cluster of one): nothing to send, nobody to hear. */
export function soloBus(self: string): ClusterBus {
  return {
    self,
    send() {},
    on() {},
    onResync() {},
    status: () => ({ listening: true, sent: 0, notifications: 0, received: 0, dropped: 0, rejected: 0 }),
    async start() {},
    async stop() {},
  };
}
