// Streams the `file` field of a multipart/form-data upload without buffering it (busboy: a
// well-kept streaming parser; Request.formData() would hold the whole file in memory).
//
// The body is fed to busboy by hand, one awaited write at a time, rather than piped from a Node
// stream: a piped source errors on its own once the consumer has stopped (a bad line early in a
// big file) and, with nobody listening, that error ended the process. Here every stream has a
// listener, and stop() ends the feeding wherever it is.
import busboy from "busboy";
import type { Readable } from "node:stream";
import { DomainError, invalid, malformed } from "../errors";

export interface UploadedFile {
  stream: AsyncIterable<Uint8Array>;
  filename: string;
  mimeType: string;
}

export interface Multipart {
  /** The first part named `field`; rejects if the form has none or cannot be read. */
  file: Promise<UploadedFile>;
  /** Stops feeding the parser and destroys it; safe in any state, and more than once. */
  stop(): void;
}

/** Small fields and few of them: the form carries one file, the rest is ignored. */
const LIMITS = { files: 1, fields: 16, fieldSize: 4 * 1024, parts: 32, headerPairs: 16 };

export function multipartFile(headers: Headers, body: AsyncIterable<Uint8Array>, field = "file"): Multipart {
  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: Object.fromEntries(headers), limits: LIMITS });
  } catch (err) {
    return { file: Promise.reject(malformed(`malformed multipart request: ${(err as Error).message}`)), stop: () => {} };
  }
  let stopped = false;
  let wake: () => void = () => {};
  const stoppedSignal = new Promise<void>((r) => (wake = r));
  let file: Readable | undefined;
  let settle!: { resolve: (f: UploadedFile) => void; reject: (e: Error) => void };
  const promise = new Promise<UploadedFile>((resolve, reject) => (settle = { resolve, reject }));
  promise.catch(() => {}); // a caller that stopped early may never await it
  // The file counts only once the whole form has arrived, closing boundary included: a body cut
  // off right after the file's bytes is malformed, not a complete upload.
  let formDone!: { resolve: () => void; reject: (e: Error) => void };
  const finished = new Promise<void>((resolve, reject) => (formDone = { resolve, reject }));
  finished.catch(() => {});

  const fail = (err: Error) => {
    formDone.reject(err);
    if (file) file.destroy(err);
    else settle.reject(err);
  };

  bb.on("file", (name, stream, info) => {
    stream.on("error", () => {}); // surfaced to the consumer through its iteration, or no one is left to tell
    if (name !== field || file) {
      stream.resume(); // not ours: drain it
      return;
    }
    file = stream;
    settle.resolve({ stream: wholeForm(stream, finished), filename: info.filename ?? "upload", mimeType: info.mimeType ?? "" });
  });
  bb.on("error", (err) => fail(asDomain(err as Error)));
  bb.on("close", () => {
    formDone.resolve();
    if (!file) settle.reject(invalid(`multipart upload has no "${field}" field`));
  });

  const stop = () => {
    if (stopped) return;
    stopped = true;
    wake();
    bb.destroy();
  };

  void (async () => {
    const chunks = body[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await Promise.race([chunks.next(), stoppedSignal.then(() => ({ done: true as const, value: undefined }))]);
        if (stopped || next.done) break;
        // The callback comes once busboy has taken the chunk in, which waits while the file's reader is behind.
        const written = new Promise<void>((resolve, reject) => bb.write(next.value, (err) => (err ? reject(err) : resolve())));
        await Promise.race([written, stoppedSignal]);
        if (stopped) break;
      }
      if (!stopped) bb.end();
    } catch (err) {
      if (!stopped) fail(asDomain(err as Error));
      bb.destroy();
    } finally {
      // Leaves the body (it drops the unread rest); a pending next() settles on its own.
      void chunks.return?.(undefined).catch(() => {});
    }
  })();

  return { file: promise, stop };
}

async function* wholeForm(stream: Readable, finished: Promise<void>): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (err) {
    // busboy destroys the file with its own plain Error ("Unexpected end of form") before its
    // 'error' event: the client's malformed body, whichever arrives first.
    throw asDomain(err as Error);
  }
  await finished;
}

function asDomain(err: Error): DomainError {
  return err instanceof DomainError ? err : malformed(`malformed multipart request: ${err.message}`);
}
