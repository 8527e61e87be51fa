// A refused upload must not take the daemon down: in a real child process (an unhandled stream
// error ends the process, which an in-process server would hide inside the test runner).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchDaemon, waitHealthy, type Daemon } from "../support/daemon";
import { csv } from "../support/bodies";

let daemon: Daemon;
beforeAll(async () => {
  daemon = await launchDaemon(mkdtempSync(join(tmpdir(), "gridcast-upload-")));
  await waitHealthy(daemon.url);
}, 60_000);
afterAll(async () => {
  daemon.proc.kill("SIGTERM");
  await daemon.proc.exited;
});

/** 20,000 lines with a bad price on line 2: refused while nearly all of the body is unread. */
const BAD_EARLY = `game_id,t,price,fair,outcome\ng,0,2,0.5,1\n${Array.from({ length: 20_000 }, (_, i) => `g${i % 50},${i + 1},0.5,0.5,1`).join("\n")}\n`;

function form(text: string, filename: string) {
  const f = new FormData();
  f.append("file", new File([text], filename, { type: "text/csv" }));
  return f;
}

async function stillServing() {
  expect(daemon.proc.exitCode).toBeNull();
  expect((await fetch(`${daemon.url}/health`)).status).toBe(200);
  expect(daemon.lines.join("\n")).not.toContain("Unhandled error");
}

for (const path of ["/api/games/import", "/api/update", "/data/import"]) {
  test(`a multipart upload refused at line 2 of 20,000 answers 422 and the daemon keeps serving: ${path}`, async () => {
    const res = await fetch(`${daemon.url}${path}`, { method: "POST", body: form(BAD_EARLY, "big.csv"), headers: { "HX-Request": "true" } });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("line 2: price 2 is outside [0, 1]");
    await stillServing();
  });
}

test("a part header of 200 KB (the file name) is a 400 and the daemon keeps serving", async () => {
  const res = await fetch(`${daemon.url}/api/games/import`, { method: "POST", body: form(csv([["g", 1, 0.5, 0.5, 1]]), `${"x".repeat(200_000)}.csv`) });
  expect(res.status).toBe(400);
  expect((await res.json()).detail).toMatch(/^malformed multipart request: /);
  await stillServing();
  // And the next upload is stored as usual.
  const ok = await fetch(`${daemon.url}/api/games/import`, { method: "POST", body: form(csv([["after", 1, 0.5, 0.5, 1]]), "ok.csv") });
  expect(await ok.json()).toEqual({ games: 1, ticks: 1 });
  const games = await (await fetch(`${daemon.url}/api/games`)).json();
  expect(games.games.map((g: { id: string }) => g.id)).toEqual(["after"]);
});
