// A real gridcast daemon in a child process (for kill -9 and signal tests): launch it on a data
// dir, read its JSON log lines, find its URL, wait until it is healthy.
import { join } from "node:path";
import { eventually } from "./eventually";

const MAIN = join(import.meta.dir, "../../src/main.ts");

export interface Daemon {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  lines: string[];
  pump: Promise<void>;
}

export async function launchDaemon(dataDir: string, flags: string[] = [], env: Record<string, string> = { DATABASE_URL: "" }): Promise<Daemon> {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--port", "0", "--data-dir", dataDir, "--log-format", "json", ...flags], {
    env: { ...process.env, ...env },
    stdout: "ignore",
    stderr: "pipe",
  });
  const lines: string[] = [];
  let url: string | undefined;
  const pump = (async () => {
    const dec = new TextDecoder();
    let buffered = "";
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      buffered += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        lines.push(line);
        try {
          const obj = JSON.parse(line);
          if (obj.msg === "listening") url = obj.url;
        } catch {}
      }
    }
  })();
  // Either it says where it listens or it has exited; a timeout is reported with its log below.
  await eventually(() => url !== undefined || proc.exitCode !== null, { timeoutMs: 20_000, intervalMs: 20 }).catch(() => {});
  if (!url) throw new Error(`no listening line: ${lines.join("\n")}`);
  return { proc, url, lines, pump };
}

export async function waitHealthy(url: string, ms = 30_000): Promise<void> {
  await eventually(async () => (await fetch(`${url}/health`)).status === 200, { timeoutMs: ms, intervalMs: 50, what: `${url}/health to answer 200` });
}
