// A request body read under two bounds: its size, and the time the client may keep the server
// waiting for it. Both end in a DomainError (413, 408) through the one error path, and drop()
// lets go of whatever is unread, in any state of the read, without an error left unhandled.
import { DomainError, invalid, malformed, tooLarge } from "../errors";

export interface BodyLimits {
  /** Most bytes read; one more is a 413. */
  maxBytes: number;
  /** Most time, in all, spent waiting for the client's bytes (time the server spends on them is not counted). */
  timeoutMs: number;
}

/**
 * Room for the multipart envelope (boundaries, part headers, small fields) around a file of
 * `--max-import-bytes`: what an upload may add to the file it carries.
 */
export const ENVELOPE_BYTES = 128 * 1024;

/**
 * Bun's own request-body cap for the server. Bun refuses a body above it with an empty 413 before
 * any handler runs, so it sits well above every limit gridcast enforces (an import's file plus its
 * envelope): a body up to 128 MiB (Bun's default cap) over the limit still gets a 413 that names
 * the limit, and Bun's read-ahead never reaches the cap before gridcast's own count does.
 */
export function serverBodyCap(maxImportBytes: number): number {
  return maxImportBytes + 128 * 1024 * 1024;
}

export class RequestBody implements AsyncIterable<Uint8Array> {
  private reader?: ReadableStreamDefaultReader<Uint8Array>;
  private received = 0;
  private waitedMs = 0;
  private dropped = false;

  constructor(
    private readonly body: ReadableStream<Uint8Array>,
    private readonly limits: BodyLimits,
    /** The announced Content-Length, if any: fewer bytes than that is a cut-off body. */
    private readonly declared?: number,
  ) {}

  static of(request: Request, limits: BodyLimits): RequestBody | undefined {
    if (!request.body) return undefined;
    const length = request.headers.get("content-length");
    return new RequestBody(request.body, limits, length === null ? undefined : Number(length));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.reader || this.dropped) throw new Error("a request body is read once");
    const reader = (this.reader = this.body.getReader());
    try {
      for (;;) {
        const { done, value } = await this.read(reader);
        if (this.dropped) return;
        if (done) break;
        this.received += value.byteLength;
        if (this.received > this.limits.maxBytes) throw tooLarge(`request body larger than ${this.limits.maxBytes} bytes`);
        yield value;
      }
      if (this.declared !== undefined && this.received < this.declared) {
        throw malformed(`request body cut off after ${this.received} of ${this.declared} bytes`);
      }
    } finally {
      this.drop();
    }
  }

  /** Stops reading and lets go of the rest of the body (Bun closes or drains the connection). */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    const cancelled = this.reader ? this.reader.cancel() : this.body.cancel();
    cancelled.catch(() => {});
  }

  private async read(reader: ReadableStreamDefaultReader<Uint8Array>): ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]> {
    const remaining = this.limits.timeoutMs - this.waitedMs;
    if (remaining <= 0) throw this.timedOut();
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.timedOut()), remaining);
    });
    try {
      return await Promise.race([reader.read(), late]);
    } catch (err) {
      if (err instanceof DomainError || this.dropped) throw err;
      // The client went away mid-body (a reset, or a chunked body never finished).
      throw malformed(`request body cut off after ${this.received} bytes (${(err as Error).message})`);
    } finally {
      clearTimeout(timer);
      this.waitedMs += performance.now() - started;
    }
  }

  private timedOut(): DomainError {
    return new DomainError("body_timeout", `request body not received within ${this.limits.timeoutMs} ms (${this.received} bytes arrived); the upload was dropped`);
  }
}

/** What a form post or a JSON parameter body may weigh: far above any real one. */
export const FORM_BYTES = 64 * 1024;

/** Small bodies already read, by request: the guard reads a form's `_csrf` before the handler
 *  reads its fields, and a body can be read only once. */
const readBodies = new WeakMap<Request, Promise<string>>();

/**
 * A small body (form fields, JSON parameters) as text, under the same size and time bounds as an
 * upload, so no route buffers whatever a client cares to send at whatever pace it likes. Read once
 * per request: a second call (the handler after the guard) gets the same text.
 */
export function readText(request: Request, limits: BodyLimits): Promise<string> {
  let text = readBodies.get(request);
  if (!text) {
    text = readOnce(request, limits);
    readBodies.set(request, text);
  }
  return text;
}

async function readOnce(request: Request, limits: BodyLimits): Promise<string> {
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > limits.maxBytes) throw tooLarge(`request body larger than ${limits.maxBytes} bytes`);
  const body = RequestBody.of(request, limits);
  if (!body) return "";
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A small JSON body that must be one object (a token, a strategy, a replay request): the content
 * type JSON or unsaid, read under the bounds, 400 when it is no JSON, 422 when it is no object.
 * `what` says what the object holds, for the 422.
 */
export async function readJsonObject(request: Request, limits: BodyLimits, what: string): Promise<Record<string, unknown>> {
  const type = request.headers.get("content-type") ?? "";
  if (type !== "" && !type.toLowerCase().includes("json")) throw invalid(`unsupported content type ${JSON.stringify(type)}: send JSON`);
  const text = await readText(request, limits);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw malformed("malformed request body (expected valid JSON)");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid(`body: must be a JSON object with ${what}`);
  return body as Record<string, unknown>;
}

