// The access settings (access.md "Modes", "Refusals"): --auth's default follows the listen
// address, so a daemon reachable from other machines never comes up open unless asked to.
import { describe, expect, test } from "bun:test";
import { isLoopbackHost, parseArgs, resolveConfig } from "../../src/config/resolve";
import { duration } from "../../src/config/settings";

const resolve = (argv: string[], env: Record<string, string> = {}) => resolveConfig(parseArgs(argv), env);

describe("access settings", () => {
  test("--auth defaults to off on a loopback host and on everywhere else", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"]) {
      expect(resolve(["serve", "--host", host]).auth).toBe("off");
    }
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "127.0.0.1.evil.example", "localhost.evil.example"]) {
      expect(resolve(["serve", "--host", host]).auth).toBe("on");
    }
    expect(resolve(["serve"]).auth).toBe("off");
  });

  test("--auth and GRIDCAST_AUTH override the default, and only take on or off", () => {
    expect(resolve(["serve", "--host", "0.0.0.0", "--auth", "off"]).auth).toBe("off");
    expect(resolve(["serve", "--auth", "on"]).auth).toBe("on");
    expect(resolve(["serve", "--host", "0.0.0.0"], { GRIDCAST_AUTH: "off" }).auth).toBe("off");
    expect(() => resolve(["serve", "--auth", "maybe"])).toThrow('invalid --auth "maybe": must be one of on, off');
  });

  test("defaults: sessions of 7 days, 10 logins, 60 jobs and 10 imports a minute, /metrics for admins", () => {
    const c = resolve(["serve"]);
    expect(c).toMatchObject({ sessionTtlMs: 7 * 86_400_000, rateLoginPerMin: 10, rateJobsPerMin: 60, rateImportsPerMin: 10, metricsPublic: false, allowedHosts: [] });
  });

  test("durations, host lists and switches parse; bad ones name their setting", () => {
    expect(resolve(["serve", "--session-ttl", "12h"]).sessionTtlMs).toBe(12 * 3_600_000);
    expect(resolve(["serve", "--session-ttl", "90m"]).sessionTtlMs).toBe(90 * 60_000);
    expect(resolve(["serve"], { GRIDCAST_SESSION_TTL: "30d" }).sessionTtlMs).toBe(30 * 86_400_000);
    for (const bad of ["7", "7 days", "-1d", "0m", "30s", "1000d", "1.5h"]) {
      expect(() => resolve(["serve", "--session-ttl", bad])).toThrow(`invalid --session-ttl ${JSON.stringify(bad)}`);
    }
    expect(resolve(["serve", "--allowed-hosts", "Gridcast.LAN, box:3000,"]).allowedHosts).toEqual(["gridcast.lan", "box:3000"]);
    expect(resolve(["serve", "--metrics-public", "on"]).metricsPublic).toBe(true);
    expect(resolve(["serve"], { GRIDCAST_METRICS_PUBLIC: "off" }).metricsPublic).toBe(false);
    expect(() => resolve(["serve", "--metrics-public", "sometimes"])).toThrow("invalid --metrics-public");
    expect(() => resolve(["serve", "--rate-login-per-min", "0"])).toThrow("invalid --rate-login-per-min");
    expect(resolve(["serve", "--rate-jobs-per-min", "5"]).rateJobsPerMin).toBe(5);
  });

  test("a duration is a whole number and a unit", () => {
    const d = duration(1000, 10 * 86_400_000);
    expect(d("45s")).toBe(45_000);
    expect(d("2D")).toBe(2 * 86_400_000);
    expect(() => d("11d")).toThrow("must be from 1s to 10d");
    expect(() => d("")).toThrow("must be a duration");
  });

  test("loopback names", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("LOCALHOST.")).toBe(true);
    expect(isLoopbackHost("127.0.0.256")).toBe(false);
    expect(isLoopbackHost("0.0.0.0")).toBe(false);
  });
});
