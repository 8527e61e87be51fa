// The daemon as a process: a new data dir, /health, SIGTERM -> exit 0 within 5 s with the lock
// released, a restart on the existing dir, and a second signal that exits at once.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { heldBody } from "../support/bodies";
import { launchDaemon, waitHealthy } from "../support/daemon";

const launch = (dataDir: string) => launchDaemon(dataDir);

describe("signals", () => {
  test("SIGTERM stops the daemon with exit 0 well within 5 s, and it restarts on the same data dir", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "gridcast-sig-")), "data");
    const first = await launch(dir);
    await waitHealthy(first.url);
    expect(existsSync(join(dir, "gridcast.lock"))).toBe(true);
    const t0 = performance.now();
    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5000);
    await first.pump;
    expect(first.lines.some((l) => JSON.parse(l).msg === "stopped")).toBe(true);
    expect(existsSync(join(dir, "gridcast.lock"))).toBe(false);

    // On the existing data dir: a signal during a request lets that request finish first.
    const second = await launch(dir);
    await waitHealthy(second.url);
    const held = heldBody("game_id,t,price,fair,outcome\ninflight,1,0.5,0.5,1\n", "inflight,2,0.5,0.6,1\n");
    const pending = fetch(`${second.url}/api/games/import`, {
      method: "POST", body: held.stream, headers: { "content-type": "text/csv" }, duplex: "half",
    } as RequestInit);
    await Bun.sleep(200);
    second.proc.kill("SIGINT");
    await Bun.sleep(300);
    expect(second.proc.exitCode).toBeNull(); // still finishing the request
    held.release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ games: 1, ticks: 2 });
    expect(await second.proc.exited).toBe(0);

    // ...and the import was committed before the database closed.
    const third = await launch(dir);
    await waitHealthy(third.url);
    const games = await (await fetch(`${third.url}/api/games`)).json();
    expect(games.games.map((g: { id: string }) => g.id)).toEqual(["inflight"]);
    third.proc.kill("SIGTERM");
    expect(await third.proc.exited).toBe(0);
  }, 60_000);

  test("a second signal exits at once", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "gridcast-sig-")), "data");
    const daemon = await launch(dir);
    // While PGlite's initdb runs the stop has to wait for it; a second signal must not.
    daemon.proc.kill("SIGTERM");
    await Bun.sleep(30);
    const t0 = performance.now();
    daemon.proc.kill("SIGTERM");
    const code = await daemon.proc.exited;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(code).toBe(1);
  }, 30_000);
});
