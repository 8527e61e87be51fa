// Compressed responses (README "Compressed responses"): brotli or gzip, as the request's
// Accept-Encoding prefers (its q-values, q=0 refusals included, read by `negotiator`), for bodies
// of a compressible type (`compressible`, from mime-db) of at least `minBytes`. A body is never
// held whole: the first `minBytes` tell small from large, the rest streams through zlib, so a
// 1M-tick export is compressed as it is read from the store.
import compressible from "compressible";
import Negotiator from "negotiator";
import zlib from "node:zlib";

export type Encoding = "br" | "gzip";

export interface CompressionOptions {
  /** Bodies shorter than this go plain: below about a packet, compressing saves nothing worth the CPU. */
  minBytes: number;
  /** Brotli's quality (0-11). 11, what CompressionStream("brotli") uses, costs about 100 times 4's CPU for a third fewer bytes. */
  brotliQuality: number;
  /** gzip's level (1-9). */
  gzipLevel: number;
}

export const COMPRESSION: Readonly<CompressionOptions> = Object.freeze({ minBytes: 1024, brotliQuality: 4, gzipLevel: 6 });

/** negotiator 1.x takes the server's order for ties; @types/negotiator (0.6) does not know it yet. */
type PreferringNegotiator = { encodings(available: string[], options: { preferred: string[] }): string[] };

/** Brotli first when the client's q-values tie (it is the smaller), then gzip; undefined: send it plain. */
export function chooseEncoding(acceptEncoding: string | null): Encoding | undefined {
  if (!acceptEncoding) return undefined; // no header: the client asked for nothing, so it gets identity
  const negotiator = new Negotiator({ headers: { "accept-encoding": acceptEncoding } }) as PreferringNegotiator;
  return negotiator.encodings(["br", "gzip"], { preferred: ["br", "gzip"] })[0] as Encoding | undefined;
}

/** Statuses without a body to compress (101, 204, 304) or whose body is a slice of another (206). */
const NO_BODY_STATUS = new Set([101, 204, 205, 206, 304]);

/**
 * Whether this response may be compressed at all, whatever the client accepts (it then carries
 * `Vary: Accept-Encoding`). `carriesSecret`: the body holds a secret beside what a request can put
 * in it (a page's CSRF token): compressed, its length would leak the secret (BREACH), so it goes plain.
 */
export function compressibleResponse(request: Request, response: Response, carriesSecret: boolean): boolean {
  if (request.method === "HEAD" || response.body === null || NO_BODY_STATUS.has(response.status) || response.status < 200) return false;
  if (request.headers.get("upgrade")) return false;
  const h = response.headers;
  if (h.has("content-encoding")) return false; // already encoded
  if (/\bno-transform\b/i.test(h.get("cache-control") ?? "")) return false;
  const type = h.get("content-type");
  if (!type || type.startsWith("text/event-stream") || compressible(type) !== true) return false;
  return !carriesSecret;
}

/**
 * The response, compressed when the client accepts it and the body is large enough; otherwise the
 * same bytes plain. Idempotent: an encoded response passes unchanged.
 */
export async function compressResponse(request: Request, response: Response, options: CompressionOptions = COMPRESSION, carriesSecret = false): Promise<Response> {
  if (!compressibleResponse(request, response, carriesSecret)) return response;
  const encoding = chooseEncoding(request.headers.get("accept-encoding"));
  const declared = response.headers.get("content-length");
  if (!encoding || (declared !== null && Number(declared) < options.minBytes)) return withVary(response);
  const headers = new Headers(response.headers);
  addVary(headers);

  // Only the first minBytes are read to tell: a short body goes plain, whole, with its length.
  const reader = response.body!.getReader();
  const head: Uint8Array[] = [];
  let size = 0;
  while (size < options.minBytes) {
    const { done, value } = await reader.read();
    if (done) {
      reader.releaseLock();
      const body = Buffer.concat(head, size);
      headers.set("content-length", String(body.byteLength));
      return rebuilt(body, response, headers);
    }
    head.push(value);
    size += value.byteLength;
  }
  headers.delete("content-length");
  headers.set("content-encoding", encoding);
  const etag = headers.get("etag");
  if (etag && !etag.startsWith("W/")) headers.set("etag", `W/${etag}`); // other bytes, the same meaning
  return rebuilt(rejoined(head, reader).pipeThrough(compressor(encoding, options)), response, headers);
}

function rebuilt(body: BodyInit, like: Response, headers: Headers): Response {
  return new Response(body, { status: like.status, statusText: like.statusText, headers });
}

/** The response as it is, plus Vary (its body untouched keeps the length Bun knows for it). */
function withVary(response: Response): Response {
  try {
    addVary(response.headers);
    return response;
  } catch {
    // Immutable headers (a fetched response): a copy carries them.
    const headers = new Headers(response.headers);
    addVary(headers);
    return rebuilt(response.body!, response, headers);
  }
}

function addVary(headers: Headers): void {
  const vary = headers.get("vary");
  if (!vary) headers.set("vary", "Accept-Encoding");
  else if (!/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(vary)) headers.set("vary", `${vary}, Accept-Encoding`);
}

/** The chunks already read, then the rest of the reader; cancelling it cancels the source (a client gone mid-export stops the store's read). */
function rejoined(head: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < head.length) return controller.enqueue(head[i++]);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/**
 * A zlib compressor as a web TransformStream. Not CompressionStream: its "brotli" runs at quality 11
 * (2 s for a 1.3 MB results document here, against 20 ms at 4) with no way to choose.
 */
export function compressor(encoding: Encoding, options: Pick<CompressionOptions, "brotliQuality" | "gzipLevel"> = COMPRESSION): TransformStream<Uint8Array, Uint8Array> {
  const z = encoding === "br"
    ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: options.brotliQuality } })
    : zlib.createGzip({ level: options.gzipLevel });
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      z.on("data", (b: Buffer) => controller.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
    },
    transform(chunk) {
      return new Promise<void>((resolve, reject) => z.write(chunk, (err) => (err ? reject(err) : resolve())));
    },
    flush() {
      return new Promise<void>((resolve, reject) => {
        z.once("end", resolve);
        z.once("error", reject);
        z.end();
      });
    },
    // The client went away or the source failed: free zlib's buffers now, not at GC.
    cancel() {
      z.destroy();
    },
  } as Transformer<Uint8Array, Uint8Array>);
}
