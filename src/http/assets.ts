// The static assets, embedded in the binary and served from there only: a fixed map from URL
// name to embedded file, so no request path ever reaches the filesystem or the server bundle.
import htmxJs from "htmx.org/dist/htmx.min.js" with { type: "file" };
import hxWsJs from "htmx.org/dist/ext/hx-ws.min.js" with { type: "file" };
import appCss from "../../static/app.css" with { type: "file" };
import appJs from "../../static/app.js" with { type: "file" };
import loginJs from "../../static/login.js" with { type: "file" };
import favicon from "../../static/favicon.svg" with { type: "file" };

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** URL name under /static/ -> embedded file path (a `/$bunfs/...` path inside the binary). */
export const ASSETS: Readonly<Record<string, string>> = Object.freeze({
  "htmx.min.js": htmxJs,
  "hx-ws.min.js": hxWsJs,
  "app.css": appCss,
  "app.js": appJs,
  "login.js": loginJs,
  "favicon.svg": favicon,
});

/** The asset's response, or undefined for any name not in the map (the caller answers 404). */
export function assetResponse(name: string): Response | undefined {
  if (!Object.hasOwn(ASSETS, name)) return undefined;
  const ext = name.slice(name.lastIndexOf(".") + 1);
  return new Response(Bun.file(ASSETS[name]), {
    headers: {
      "content-type": TYPES[ext] ?? "application/octet-stream",
      "cache-control": "public, max-age=3600",
      "x-content-type-options": "nosniff",
    },
  });
}
