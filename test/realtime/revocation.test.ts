// Closing the sockets of a revoked identity (access.md: 4001 `unauthorized`), over a real server:
// the identity comes from the mount's identityOf hook, here read from a test header.
import { afterEach, describe, expect, it } from "bun:test";
import type { SocketIdentity } from "../../src/realtime/registry";
import { CLOSE } from "../../src/realtime/sockets";
import { eventually } from "../support/eventually";
import { Client, closeAll, startServer } from "./harness";

afterEach(closeAll);

const identities: Record<string, SocketIdentity> = {
  a: { role: "operator", tier: "starter", token: "alice", tokenId: "tok_a" },
  b: { role: "viewer", tier: "pro", token: "bob", tokenId: "tok_b" },
};
const identityOf = (request: Request) => ({ ...identities[request.headers.get("x-test-identity") ?? "a"]! });
const as = (who: string) => ({ "x-test-identity": who });

describe("revoked identities", () => {
  it("closes every socket of a revoked token with 4001 unauthorized, on every route, and no other", async () => {
    const s = await startServer({ mount: { identityOf } });
    const a1 = await Client.connect(`${s.ws}/ws`, as("a"));
    const a2 = await Client.connect(`${s.ws}/ws/grid-search/job1`, as("a"));
    const b = await Client.connect(`${s.ws}/ws`, as("b"));
    await eventually(() => s.realtime.sockets.size() === 3);
    expect(s.realtime.sockets.closeToken("tok_a")).toBe(2);
    expect(await a1.closed).toEqual({ code: CLOSE.unauthorized, reason: "unauthorized" });
    expect(await a2.closed).toEqual({ code: 4001, reason: "unauthorized" });
    await b.sync(); // still open and answering
    await eventually(() => s.realtime.stats().total_connections === 1);
    expect(s.realtime.stats()).toMatchObject({ by_role: { viewer: 1 }, by_tier: { pro: 1 } });
  });

  it("closes a socket of a revoked token that opens after the revocation (authenticated just before it)", async () => {
    const s = await startServer({ mount: { identityOf } });
    s.realtime.sockets.closeToken("tok_a");
    const late = Client.start(`${s.ws}/ws`, as("a"));
    expect((await late.closed).code).toBe(4001);
    await (await Client.connect(`${s.ws}/ws`, as("b"))).sync();
  });

  it("reports each connection's role, tier and token name", async () => {
    const s = await startServer({ mount: { identityOf } });
    await Client.connect(`${s.ws}/ws`, as("b"));
    await eventually(() => s.realtime.status().connections.length === 1);
    expect(s.realtime.status().connections[0]).toMatchObject({ role: "viewer", tier: "pro", token: "bob" });
  });
});
