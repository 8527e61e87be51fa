// The one error type for HTTP: a status and a message a person can act on. Every route throws
// it; the app's single error handler turns it into JSON (API) or a page/fragment (browser).
export class HttpError extends Error {
  constructor(
    public readonly status: number,
    message: string,
    /** Extra JSON fields for API clients (e.g. `status` of a job on a 409). */
    public readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const notFound = (message = "Not found") => new HttpError(404, message);
export const conflict = (message: string, extra?: Record<string, unknown>) => new HttpError(409, message, extra);
export const tooLarge = (message: string) => new HttpError(413, message);
export const unsupported = (message: string) => new HttpError(415, message);
export const unprocessable = (message: string) => new HttpError(422, message);
export const tooMany = (message: string) => new HttpError(429, message);
export const unavailable = (message: string) => new HttpError(503, message);
