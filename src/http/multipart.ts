// Streams the `file` field of a multipart/form-data upload without buffering it (busboy: a
// well-kept streaming parser; Request.formData() would hold the whole file in memory).
import busboy from "busboy";
import { Readable } from "node:stream";
import { invalid, malformed } from "../errors";

export interface UploadedFile {
  stream: AsyncIterable<Uint8Array>;
  filename: string;
  mimeType: string;
}

export function multipartFile(request: Request, field = "file"): Promise<UploadedFile> {
  if (!request.body) return Promise.reject(invalid("multipart upload has no body"));
  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: Object.fromEntries(request.headers), limits: { files: 1, fields: 20, fieldSize: 64 * 1024 } });
  } catch (err) {
    return Promise.reject(malformed(`malformed multipart request: ${(err as Error).message}`));
  }
  return new Promise<UploadedFile>((resolve, reject) => {
    let file: Readable | undefined;
    bb.on("file", (name, stream, info) => {
      if (name !== field || file) {
        stream.resume(); // not ours: drain it
        return;
      }
      file = stream;
      resolve({ stream, filename: info.filename ?? "upload", mimeType: info.mimeType ?? "" });
    });
    bb.on("error", (err) => {
      const error = malformed(`malformed multipart request: ${(err as Error).message}`);
      if (file) file.destroy(error);
      else reject(error);
    });
    bb.on("close", () => {
      if (!file) reject(invalid(`multipart upload has no "${field}" field`));
    });
    Readable.fromWeb(request.body as never).pipe(bb);
  });
}
