// The store's circuit breaker: its states on an injected clock, then through a daemon on PGlite
// with a fault injected at the database adapter (the wrapped client): the API answers 503 with
// Retry-After and the documented body at once, /health is degraded and says why, sockets stay
// open, and everything answers again once the fault is gone, with no restart.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { StoreBreaker } from "../../src/db/breaker";
import type { Database } from "../../src/db/database";
import { DomainError, domainErrorOf } from "../../src/errors";
import type { RunningServer } from "../../src/server/lifecycle";
import { freshDatabase } from "../support/db";
import { eventually } from "../support/eventually";
import { startTestServer, stopTestServer } from "../support/server";

const OPTIONS = { failuresToOpen: 3, openMs: 1000, slowMs: 200, timeoutMs: 300 };
const refused = () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
const ok = () => Promise.resolve("ok");

describe("StoreBreaker", () => {
  let now = 0;
  const make = () => new StoreBreaker(OPTIONS, () => now);
  beforeEach(() => (now = 0));

  test("opens after N faults in a row, refuses at once with retry_after, one probe closes it", async () => {
    const b = make();
    for (let i = 0; i < 3; i++) {
      const err = await b.run(refused).catch((e) => e);
      // The fault itself already reads as unavailable (503), not as a bug (500).
      expect(domainErrorOf(err)).toMatchObject({ code: "store_unavailable", message: "database unavailable" });
    }
    expect(b.state).toBe("open");
    let called = false;
    const err = await b.run(() => ((called = true), ok())).catch((e) => e);
    expect(called).toBe(false);
    expect(err).toBeInstanceOf(DomainError);
    expect(err.extra).toEqual({ retry_after: 1 });
    now = 1000;
    expect(b.state).toBe("half_open");
    // The probe is out: a second caller is refused, not sent.
    let release!: (v: string) => void;
    const probe = b.run(() => new Promise<string>((r) => (release = r)));
    expect(await b.run(ok).catch((e) => e.code)).toBe("store_unavailable");
    release("back");
    expect(await probe).toBe("back");
    expect(b.state).toBe("closed");
    expect(await b.run(ok)).toBe("ok");
    expect(b.snapshot()).toMatchObject({ state: "closed", consecutive_failures: 0, opened_total: 1 });
  });

  test("a failed probe opens it again for another window", async () => {
    const b = make();
    for (let i = 0; i < 3; i++) await b.run(refused).catch(() => {});
    now = 1500;
    await b.run(refused).catch(() => {});
    expect(b.state).toBe("open");
    now = 2400;
    expect(b.state).toBe("open");
    now = 2500;
    expect(b.state).toBe("half_open");
  });

  test("the user's errors are the store answering: they never count, and reset the count", async () => {
    const b = make();
    const unique = () => Promise.reject(Object.assign(new Error("duplicate key"), { code: "23505" }));
    await b.run(refused).catch(() => {});
    await b.run(refused).catch(() => {});
    const err = await b.run(unique).catch((e) => e);
    expect(err.code).toBe("23505"); // passed through untouched
    for (let i = 0; i < 10; i++) await b.run(unique).catch(() => {});
    expect(b.snapshot()).toMatchObject({ state: "closed", consecutive_failures: 0 });
    // PostgreSQL's connection classes count: 08006, 57P01 (admin shutdown).
    for (const code of ["08006", "57P01", "CONNECTION_CLOSED"]) await b.run(() => Promise.reject(Object.assign(new Error(code), { code }))).catch(() => {});
    expect(b.state).toBe("open");
  });

  test("a call with no answer fails after the timeout; slow answers count", async () => {
    const b = new StoreBreaker(OPTIONS);
    const started = performance.now();
    const err = (await b.run(() => new Promise<string>(() => {})).catch((e) => e)) as DomainError;
    expect(performance.now() - started).toBeLessThan(1000);
    expect(err.code).toBe("store_unavailable");
    expect(b.snapshot().consecutive_failures).toBe(1);
    const slow = await b.run(() => Bun.sleep(250).then(() => "late"));
    expect(slow).toBe("late");
    expect(b.snapshot().consecutive_failures).toBe(2);
  });
});

describe("the breaker on PGlite, through a fault at the adapter", () => {
  let database: Database;
  let server: RunningServer;
  beforeEach(async () => {
    database = await freshDatabase("pglite");
    database.breaker.options = { failuresToOpen: 2, openMs: 500, slowMs: 1000, timeoutMs: 300 };
    server = await startTestServer({ database });
  }, 120_000); // the first PGlite of a run makes the template (initdb)
  afterEach(async () => {
    database.breaker.injectFault(undefined);
    await stopTestServer(server);
    await database.close();
  });

  const expectUnavailable = async (res: Response) => {
    expect(res.status).toBe(503);
    const retry = Number(res.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toEqual({ detail: "database unavailable", retry_after: retry });
  };

  for (const fault of ["refuse", "hang"] as const) {
    test(`${fault}: the API answers 503 with Retry-After quickly, /health is degraded, the socket stays open, then all resumes`, async () => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws`);
      const got: { type: string }[] = [];
      ws.onmessage = (e) => got.push(JSON.parse(String(e.data)));
      await new Promise((r) => (ws.onopen = r));
      database.breaker.injectFault(fault);
      // Before it opens, a hung call waits out the timeout (300 ms); after, every answer is at once.
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        await expectUnavailable(await fetch(`${server.url}/api/jobs`));
        expect(performance.now() - started).toBeLessThan(1000);
      }
      expect(database.breaker.state).not.toBe("closed");
      const started = performance.now();
      await expectUnavailable(await fetch(`${server.url}/api/jobs`));
      expect(performance.now() - started).toBeLessThan(200);
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(503);
      const report = await health.json();
      expect(report.status).toBe("degraded");
      expect(report.services.database).toMatchObject({ healthy: false, state: "open", breaker: { failures_to_open: 2 } });
      expect(["open", "half_open"]).toContain(report.services.database.breaker.state);
      ws.send(JSON.stringify({ type: "ping" }));
      await eventually(() => got.some((m) => m.type === "pong"), { what: "a pong while the store is away" });
      expect(ws.readyState).toBe(WebSocket.OPEN);

      database.breaker.injectFault(undefined);
      await eventually(async () => (await fetch(`${server.url}/api/jobs`)).status === 200, { what: "the API back", timeoutMs: 5000 });
      const after = await (await fetch(`${server.url}/health`)).json();
      expect(after.status).toBe("ok");
      expect(after.services.database.breaker).toMatchObject({ state: "closed", opened_total: 1 });
      expect((await database.rows<{ n: number }>(sql`select 1 as n`))[0]!.n).toBe(1);
      ws.close();
    });
  }
});
