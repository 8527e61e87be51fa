// Child processes of a benchmark, driven over IPC (bench-ws.ts's scheme): the parent asks
// {id, cmd, ...}, a child answers {re: id, ...} or sends events {ev, ...}. Every ask has a
// timeout; a child exits when its parent goes; the parent SIGKILLs every child it still has on
// exit, so the watchdog's process.exit(1) leaves nothing behind.
import type { Subprocess } from "bun";

export type Msg = Record<string, any>;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p.finally(() => clearTimeout(t)), new Promise<T>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  })]);
}

/** In a child: answer the parent's commands; exit when the parent is gone (even after its SIGKILL). */
export function serveCommands(handlers: Record<string, (m: Msg) => Promise<Msg | void> | Msg | void>): void {
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.exit(2), 500).unref();
  process.on("disconnect", () => process.exit(2));
  process.on("message", async (m: Msg) => {
    const handler = handlers[m.cmd];
    try {
      const out = handler ? await handler(m) : { error: `unknown command ${m.cmd}` };
      if (m.id !== undefined) process.send!({ re: m.id, ...(out ?? {}) });
    } catch (error) {
      if (m.id !== undefined) process.send!({ re: m.id, error: String((error as Error)?.stack ?? error) });
    }
  });
}

const children = new Set<Subprocess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const c of children) try { c.kill("SIGKILL"); } catch { /* gone */ }
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
}

/** Exits 1 (killing every child) once `ms` have passed; clear it when the run is done. */
export function watchdog(ms: number, name: string): ReturnType<typeof setTimeout> {
  hookExit();
  return setTimeout(() => {
    console.error(`${name}: over its time budget (${Math.round(ms / 1000)} s): killing every child and giving up`);
    process.exit(1);
  }, ms);
}

export class Child {
  readonly proc: Subprocess;
  private next = 0;
  private readonly waiting = new Map<number, (m: Msg) => void>();
  readonly ready: Promise<Msg>;
  onEvent: (m: Msg) => void = () => {};

  /** Runs `script` again with `args` (its role), env added to this process's. */
  constructor(script: string, args: string[], env: Record<string, string> = {}) {
    hookExit();
    let readyResolve!: (m: Msg) => void;
    this.ready = new Promise((r) => (readyResolve = r));
    this.proc = Bun.spawn([process.execPath, script, ...args], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, ...env },
      ipc: (m: Msg) => {
        if (m.ev === "ready") readyResolve(m);
        else if (m.ev) this.onEvent(m);
        else if (m.re !== undefined) { this.waiting.get(m.re)?.(m); this.waiting.delete(m.re); }
      },
    });
    children.add(this.proc);
    void this.proc.exited.then((code) => {
      children.delete(this.proc);
      for (const [id, w] of this.waiting) w({ re: id, error: `child exited with ${code}` });
      this.waiting.clear();
    });
  }

  ask(cmd: string, args: Msg = {}, timeoutMs = 30_000): Promise<Msg> {
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.waiting.delete(id); reject(new Error(`${cmd}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
      this.waiting.set(id, (m) => {
        clearTimeout(t);
        if (m.error) reject(new Error(`${cmd}: ${m.error}`));
        else resolve(m);
      });
      this.proc.send({ id, cmd, ...args });
    });
  }

  /** Sends `cmd` without waiting for an answer. */
  tell(cmd: string, args: Msg = {}): void {
    this.proc.send({ cmd, ...args });
  }

  /** Asks `cmd` (its stop), then waits a little for the exit, then SIGKILLs. */
  async end(cmd = "stop"): Promise<void> {
    await this.ask(cmd, {}, 10_000).catch(() => {});
    const exited = await Promise.race([this.proc.exited.then(() => true), sleep(3000).then(() => false)]);
    if (!exited) this.proc.kill("SIGKILL");
  }
}
