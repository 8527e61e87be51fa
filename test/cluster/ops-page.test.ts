// The ops page's nodes panel: on the first load and in the fragments its socket sends, so a node
// that joins or leaves shows without a reload.
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { forEachDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { startTestServer, stopTestServer } from "../support/server";

forEachDatabase("ops page nodes", (db, kind) => {
  test("lists the nodes, this one marked, and its socket follows a node joining and leaving", async () => {
    const shared = kind === "postgres" ? ["--database-url", process.env.DATABASE_URL!] : [];
    const server = await startTestServer({
      database: db(), flags: [...shared, "--node-id", "self-node", "--heartbeat-ms", "100", "--lease-ms", "60000", "--metrics-interval-ms", "100"],
    });
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/pages/ws/metrics`);
    try {
      const page = await (await fetch(`${server.url}/ops`)).text();
      expect(page).toContain('<section class="ops-nodes"');
      expect(page).toContain('<tr data-node="self-node"><th scope="row"><code>self-node</code> <small class="muted">(this node)</small>');
      expect(page).toContain(`<code>127.0.0.1:${server.port}</code>`);
      expect(page).toContain("1 node sharing the store");
      if (kind === "pglite") return; // PGlite: this node alone, nobody can join
      const fragments: string[] = [];
      ws.onmessage = (e) => fragments.push(String(e.data));
      await db().rows(sql`insert into nodes values ('other-node', 'elsewhere', '10.0.0.2', 3000, ${Date.now()}, ${Date.now()}, 8, 3, 'test')`);
      const joined = await eventually(() => fragments.find((f) => f.includes('data-node="other-node"')), { what: "the other node in a fragment" });
      expect(joined).toStartWith('<div id="ops-metrics" hx-swap-oob="true">');
      expect(joined).toContain("2 nodes sharing the store");
      expect(joined).toMatch(/<code>10\.0\.0\.2:3000<\/code>.*<td class="num">3 \/ 8<\/td>/s);
      await db().rows(sql`delete from nodes where id = 'other-node'`);
      const seen = fragments.length;
      await eventually(() => fragments.slice(seen).find((f) => f.includes("1 node sharing the store") && !f.includes("other-node")), { what: "a fragment without the node that left" });
    } finally {
      ws.close();
      await stopTestServer(server);
    }
  }, 30_000);
});
