// The games file of an import request, raw (text/csv, application/x-ndjson) or the `file` part of
// a multipart form, read under the size and time bounds of body.ts. Every door of the import goes
// through withUpload, which lets go of the body once the import is done with it, however it ended.
import { detectFormat, type GameFormat } from "../games/parse";
import { invalid, tooLarge, unsupportedType } from "../errors";
import { ENVELOPE_BYTES, RequestBody } from "./body";
import { multipartFile } from "./multipart";

export interface UploadLimits {
  maxImportBytes: number;
  bodyTimeoutMs: number;
}

export interface Upload {
  stream: AsyncIterable<Uint8Array>;
  format: GameFormat;
  fileName?: string;
  /** The announced body size, for progress (0 when unknown). */
  totalBytes: number;
}

const FORMATS = "send text/csv, application/x-ndjson, or multipart/form-data with a file field";

export async function withUpload<T>(request: Request, limits: UploadLimits, use: (upload: Upload) => Promise<T>): Promise<T> {
  const type = request.headers.get("content-type") ?? "";
  const multipart = type.toLowerCase().startsWith("multipart/form-data");
  const length = Number(request.headers.get("content-length") ?? 0);
  // Refused before a byte is read: the announced size says it all.
  if (length > limits.maxImportBytes + (multipart ? ENVELOPE_BYTES : 0)) throw tooLarge(`line 1: file larger than ${limits.maxImportBytes} bytes`);
  // The parser counts the file's own bytes and names the line; this bound is for the envelope.
  const maxBody = limits.maxImportBytes + ENVELOPE_BYTES;
  const rawFormat = multipart ? null : type ? detectFormat(type) : null;
  if (!multipart && !rawFormat) throw unsupportedType(`unsupported content type ${JSON.stringify(type || "(none)")}: ${FORMATS}`);
  const body = RequestBody.of(request, { maxBytes: maxBody, timeoutMs: limits.bodyTimeoutMs });
  if (!body) throw invalid(multipart ? "multipart upload has no body" : "line 1: empty file");
  if (!multipart) {
    try {
      return await use({ stream: body, format: rawFormat!, totalBytes: length });
    } finally {
      body.drop();
    }
  }
  const form = multipartFile(request.headers, body);
  try {
    const file = await form.file;
    const format = detectFormat(file.mimeType) ?? detectFormat(file.filename) ?? "csv";
    return await use({ stream: file.stream, format, fileName: file.filename, totalBytes: length });
  } finally {
    form.stop();
    body.drop();
  }
}
