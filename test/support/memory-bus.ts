// Cluster buses for nodes in one process (tests): what one sends, the others hear on the next
// turn of the event loop, as over NOTIFY; `deaf` makes a node miss everything (a LISTEN drop).
import type { BusMessage, ClusterBus } from "../../src/cluster/bus";

export function memoryBuses() {
  const nodes = new Map<string, { handlers: Map<string, Array<(m: BusMessage, from: string) => void>>; resync: Array<() => void>; deaf: boolean }>();
  const sent: Array<{ from: string; message: BusMessage }> = [];
  return {
    sent,
    /** The node is gone: it hears nothing more, and what it sent before still arrives. */
    remove(self: string) {
      nodes.delete(self);
    },
    deafen(self: string, deaf: boolean) {
      const n = nodes.get(self)!;
      n.deaf = deaf;
      if (!deaf) for (const fn of n.resync) fn();
    },
    bus(self: string): ClusterBus {
      const me = { handlers: new Map<string, Array<(m: BusMessage, from: string) => void>>(), resync: [] as Array<() => void>, deaf: false };
      nodes.set(self, me);
      return {
        self,
        send(message) {
          sent.push({ from: self, message });
          const copy = JSON.parse(JSON.stringify(message)) as BusMessage;
          setTimeout(() => {
            for (const [id, n] of nodes) {
              if (id === self || n.deaf) continue;
              for (const h of n.handlers.get(copy.t) ?? []) h(copy, self);
            }
          }, 0);
        },
        on(t, handler) {
          me.handlers.set(t, [...(me.handlers.get(t) ?? []), handler]);
        },
        onResync(handler) {
          me.resync.push(handler);
        },
        status: () => ({ listening: !me.deaf, sent: 0, notifications: 0, received: 0, dropped: 0, rejected: 0 }),
        async start() {},
        async stop() {
          nodes.delete(self);
        },
      };
    },
  };
}
