import { expect, test } from "bun:test";
import { createLogger } from "../../src/log/logger";

const at = () => new Date("2026-01-02T03:04:05.678Z");

test("text logs: one line per event with time, level, message and fields", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "text", level: "info", write: (l) => lines.push(l), now: at });
  log.info("listening", { url: "http://127.0.0.1:3000", n: 2 });
  log.warn("multi\nline message", { why: "has spaces" });
  log.debug("hidden below the level");
  expect(lines).toEqual([
    "2026-01-02T03:04:05.678Z INFO  listening url=http://127.0.0.1:3000 n=2",
    '2026-01-02T03:04:05.678Z WARN  multi\\nline message why="has spaces"',
  ]);
});

test("json logs: one parseable object per line, child fields included", () => {
  const lines: string[] = [];
  const log = createLogger({ format: "json", level: "debug", write: (l) => lines.push(l), now: at }).child({ job: "j1" });
  log.error("failed", { error: new Error("boom") });
  const obj = JSON.parse(lines[0]);
  expect(obj).toMatchObject({ time: "2026-01-02T03:04:05.678Z", level: "error", msg: "failed", job: "j1" });
  expect(obj.error).toContain("boom");
  expect(lines[0]).not.toContain("\n");
});
