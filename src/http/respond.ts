// Small response builders shared by routes: HTML pages and fragments.
import type { Html } from "../../views/html";

export function htmlResponse(body: Html | string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(String(body), {
    status,
    headers: { "content-type": "text/html; charset=utf-8", ...headers },
  });
}

/** htmx 4 marks its requests with HX-Request; they get fragments, not whole pages. */
export const isHtmx = (request: Request) => request.headers.get("hx-request") === "true";

/** Paths for programs, answered in JSON (errors too): the API, its description, health, metrics and the protocol's sockets. */
export const isApiPath = (path: string) =>
  path === "/api" || path.startsWith("/api/") || path === "/openapi.json" || path === "/health" || path === "/metrics" || path === "/ws" || path.startsWith("/ws/");

/** WebSocket routes, the protocol's and the pages' alike: an upgrade refused is an HTTP status, never a redirect. */
export const isSocketPath = (path: string) => path === "/ws" || path.startsWith("/ws/") || path.startsWith("/pages/ws/");
