// Builds the Elysia app and owns its one error path (routes are mounted by src/http/routes/index.ts) (DomainError -> status -> JSON for
// the API, a page or an htmx fragment for the browser; anything else is logged and answered 500),
// and the one place answers are compressed (src/http/compression.ts), errors included.
import { Elysia } from "elysia";
import { mapResponse as elysiaResponse } from "elysia/adapter/bun/handler";
import type { Logger } from "../log/logger";
import { errorFragment, errorPage } from "../../views/errors";
import { domainErrorOf } from "../errors";
import { statusOf } from "./errors";
import { htmlResponse, isApiPath, isHtmx } from "./respond";
import { COMPRESSION, compressResponse } from "./compression";
import { identityOf } from "./request-identity";

export interface AppDeps {
  version: string;
  logger: Logger;
  /** Elysia's WebSocket options are honoured only here, globally (PLATFORM.md). */
  websocket?: object;
}

/**
 * On every response, errors and the embedded assets included (access.md "Responses carry"): only
 * this server's own files run or load, no site frames its pages, no type is guessed, and a URL
 * (a job id, a `_csrf` query) is not sent to another site as a Referer. The pages have no inline
 * script, style element or style attribute, so no 'unsafe-inline' is needed.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": "default-src 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
});

function errorResponse(request: Request, path: string, status: number, message: string, extra: Record<string, unknown>, version: string) {
  // A rate limit says when to come back, in the header as well as the body.
  const headers: Record<string, string> = typeof extra.retry_after === "number" ? { "retry-after": String(extra.retry_after) } : {};
  if (isApiPath(path)) return Response.json({ detail: message, ...extra }, { status, headers });
  if (isHtmx(request)) return htmlResponse(errorFragment(status, message), status, headers);
  return htmlResponse(errorPage(status, message, version), status, headers);
}

/**
 * The response compressed as the client accepts (src/http/compression.ts). A page for a signed-in
 * browser holds its CSRF token (views/controls.ts) beside what its URL may echo: it goes plain,
 * so its compressed length cannot leak the token (BREACH).
 */
function compressed(request: Request, response: Response): Promise<Response> {
  const secret = identityOf(request)?.csrf !== undefined && (response.headers.get("content-type") ?? "").startsWith("text/html");
  return compressResponse(request, response, COMPRESSION, secret);
}

export function createApp(deps: AppDeps) {
  const app = new Elysia({ websocket: deps.websocket as never })
    // First of all hooks, before routing: a refusal by a later hook, or a 404, carries them too.
    .onRequest(({ set }) => {
      Object.assign(set.headers, SECURITY_HEADERS);
    })
    // Every handler's answer, and an early one from a hook (a redirect to the login page). Elysia
    // maps a value to its Response first, with the status and headers set by the handler.
    .mapResponse({ as: "global" }, async ({ request, responseValue, set }) => {
      if (responseValue === undefined || responseValue === null) return; // a socket's upgrade
      const response = responseValue instanceof Response ? responseValue : await elysiaResponse(responseValue, set as never, request);
      return compressed(request, response);
    })
    // An unmatched path's 404 skips the hook above: the error path compresses its own answers.
    .onError({ as: "global" }, async ({ code, error, request, path }) => compressed(request, errorOf(code, error, request, path)));

  function errorOf(code: unknown, error: unknown, request: Request, path: string | undefined): Response {
    const p = path ?? new URL(request.url).pathname;
    const domain = domainErrorOf(error);
    if (domain) return errorResponse(request, p, statusOf(domain.code), domain.message, domain.extra, deps.version);
    switch (code) {
      case "NOT_FOUND":
        return errorResponse(request, p, 404, "Not found", {}, deps.version);
      case "PARSE":
        return errorResponse(request, p, 400, "malformed request body (expected valid JSON)", {}, deps.version);
      case "VALIDATION":
        return errorResponse(request, p, 422, (error as Error).message.split("\n")[0] ?? "invalid request", {}, deps.version);
      case "INVALID_COOKIE_SIGNATURE":
      case "INVALID_FILE_TYPE":
        return errorResponse(request, p, 400, (error as Error).message, {}, deps.version);
    }
    deps.logger.error("request failed", { method: request.method, path: p, code: String(code), error: error as Error });
    return errorResponse(request, p, 500, "internal error (logged on the server)", {}, deps.version);
  }
  return app;
}

export type App = ReturnType<typeof createApp>;
