// Access across nodes (cluster.md, access.md): tokens and sessions live in the store, so any node
// honours one made on another; what the bus adds is speed. A token revoked here, or a session
// ended by logout here, is told to the others at once, so their short identity caches forget it
// and their sockets of it close now, not at their next 1 s sweep (tokens) or never (a session's
// sockets, which no sweep looks for).
import type { BusMessage, ClusterBus } from "../cluster/bus";
import type { Logger } from "../log/logger";
import type { Access } from "./access";
import { isTokenId } from "./tokens";

/** A session's stored id: the SHA-256 hex of its cookie. */
const SESSION_ID = /^[0-9a-f]{64}$/;

/**
 * `openSessions`: the sessions this node's sockets came by. After the bus was not listening, those
 * no longer stored ended meanwhile on another node (a revoked token the 1 s sweep finds anyway).
 */
export function bridgeAccess(access: Access, bus: ClusterBus, openSessions: () => string[], log: Pick<Logger, "warn">): void {
  // Revoked in this process (the sweep's finds are every node's own: no need to tell them).
  access.tokens.onRevoke((id) => bus.send({ t: "token-revoked", id }));
  access.onSessionEnded((id, here) => {
    if (here) bus.send({ t: "session-revoked", id });
  });
  bus.on("token-revoked", (m: BusMessage) => {
    if (isTokenId(m.id)) access.revokedElsewhere(m.id);
  });
  bus.on("session-revoked", (m: BusMessage) => {
    if (typeof m.id === "string" && SESSION_ID.test(m.id)) access.sessionEndedElsewhere(m.id);
  });
  bus.onResync(() => {
    const open = openSessions();
    if (open.length === 0) return;
    access.sessions.existing(open).then((alive) => {
      for (const id of open) if (!alive.has(id)) access.sessionEndedElsewhere(id);
    }, (err) => log.warn("could not check the open sockets' sessions after the bus came back", { error: err as Error }));
  });
}
