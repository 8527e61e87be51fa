// The daemon as a process: a new data dir, /health, SIGTERM -> exit 0 (its graceful stop, not the
// 5 s hard stop) with the lock released, a restart on the existing dir, and a second signal that
// exits at once. How long a stop takes is a figure for a script, not a test's assertion.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { heldBody } from "../support/bodies";
import { launchDaemon, waitHealthy, type Daemon } from "../support/daemon";
import { eventually } from "../support/eventually";

const launch = (dataDir: string) => launchDaemon(dataDir);
function logged(d: Daemon, msg: string): boolean {
  return d.lines.some((l) => {
    try { return JSON.parse(l).msg === msg; } catch { return false; } // a line Bun itself printed
  });
}

describe("signals", () => {
  test("SIGTERM stops the daemon gracefully with exit 0, and it restarts on the same data dir", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "gridcast-sig-")), "data");
    const first = await launch(dir);
    await waitHealthy(first.url);
    expect(existsSync(join(dir, "gridcast.lock"))).toBe(true);
    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    await first.pump;
    expect(logged(first, "stopped")).toBe(true);
    expect(logged(first, "graceful stop took over 5 s: exiting")).toBe(false);
    expect(existsSync(join(dir, "gridcast.lock"))).toBe(false);

    // On the existing data dir: a signal during a request lets that request finish first.
    const second = await launch(dir);
    await waitHealthy(second.url);
    const held = heldBody("game_id,t,price,fair,outcome\ninflight,1,0.5,0.5,1\n", "inflight,2,0.5,0.6,1\n");
    const pending = fetch(`${second.url}/api/games/import`, {
      method: "POST", body: held.stream, headers: { "content-type": "text/csv" }, duplex: "half",
    } as RequestInit);
    await eventually(async () => (await (await fetch(`${second.url}/api/update/status`)).json()).is_running, { what: "the held import being read" });
    second.proc.kill("SIGINT");
    await eventually(() => logged(second, "stopping"), { what: "the daemon to start stopping" });
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
    await eventually(() => logged(daemon, "stopping"), { what: "the first signal taken" });
    daemon.proc.kill("SIGTERM");
    expect(await daemon.proc.exited).toBe(1);
    await daemon.pump;
    // Exit 1 by the second signal's path: not the graceful stop (0), nor its 5 s hard stop.
    expect(logged(daemon, "second signal: exiting now")).toBe(true);
    expect(logged(daemon, "graceful stop took over 5 s: exiting")).toBe(false);
    expect(logged(daemon, "stopped")).toBe(false);
  }, 30_000);
});
