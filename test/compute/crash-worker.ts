// A compute worker that fails on purpose, for the pool's crash tests: the real worker runtime,
// wrapped. A job whose id reads `crash-<mode>-<unit>` fails when that unit starts: "throw" is an
// exception reported as the unit's failure, "exit" and "uncaught" kill the worker. Injected as
// the pool's workerUrl, so production code carries no test hook.
import { createWorkerRuntime, type FromWorker, type ToWorker } from "../../src/compute/worker.ts";
import { controlSlot } from "../../src/compute/progress.ts";

declare const self: Worker & { postMessage(msg: unknown, transfer?: Transferable[]): void };
const post = (msg: FromWorker, transfer?: Transferable[]) => self.postMessage(msg, transfer ?? []);
const handle = createWorkerRuntime(post);
let control: Int32Array<ArrayBufferLike> = new Int32Array(2);
let slot = 0;

// Replaces the handler the imported module installed; its "ready" message has gone out already.
self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === "init") {
    control = new Int32Array(msg.control);
    slot = msg.slot;
  }
  const rule = msg.type === "unit" ? /^crash-(throw|exit|uncaught)-(\d+)$/.exec(msg.jobId) : null;
  if (msg.type === "unit" && rule && Number(rule[2]) === msg.unit.index) {
    // Mark the unit as running, as the real worker does, so the pool knows which unit died.
    Atomics.store(control, controlSlot(slot), msg.token);
    if (rule[1] === "exit") process.exit(7);
    if (rule[1] === "uncaught") throw new Error("test-only crash (uncaught)");
    Atomics.store(control, controlSlot(slot), 0);
    post({ type: "failed", jobId: msg.jobId, token: msg.token, message: "test-only crash (throw)" });
    return;
  }
  handle(msg);
};
