// Worker entry: creates a new PGlite data dir (its WASM initdb blocks a thread for ~4 s) off the
// main thread, so the server keeps answering /health with 503 meanwhile. Replies "ok" or an error.
import { createPglite } from "./pglite";

declare const self: Worker;

self.onmessage = async (event: MessageEvent<{ dir: string; sharedBuffers?: number }>) => {
  try {
    const client = await createPglite(event.data.dir, { sharedBuffers: event.data.sharedBuffers });
    await client.close();
    self.postMessage({ ok: true });
  } catch (err) {
    self.postMessage({ ok: false, error: (err as Error).message });
  }
};
