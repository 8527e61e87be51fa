// The page shell: head, navigation, who is signed in, and the scripts, all from the binary's
// embedded assets. Nothing inline: the Content-Security-Policy (`default-src 'self'`) runs only
// the server's own files, so behaviour lives in static/app.js and looks in static/app.css.
import { CSRF_HEADER } from "../src/access/index";
import { html, type Html } from "./html";
import { csrfField, may, mayOperate, shownName, type Viewer } from "./controls";
import { alertsSlot } from "./alerts";

export interface LayoutOptions {
  title: string;
  version: string;
  active?: "dashboard" | "new" | "live" | "data" | "ops" | "login";
  /** Extra head elements (e.g. a <noscript> refresh for pages that change). */
  head?: Html;
  /**
   * Who the page is for: shown in the header, and a session's CSRF token goes on every htmx
   * request. null: nobody signed in. Left out (error pages): the header names nobody.
   */
  identity?: Viewer;
}

/** The header's account part: who, their role and tier, and how to leave. */
function account(identity: Viewer | undefined): Html {
  if (identity === undefined) return html``;
  if (identity === null) return html`<div class="account"><a href="/login">Sign in</a></div>`;
  if (identity.kind === "open") {
    return html`<div class="account"><span class="auth-off" title="Start with --auth on to require tokens">auth off: everyone is admin</span></div>`;
  }
  const logout = identity.kind === "session"
    ? html`<form method="post" action="/logout" class="logout">${csrfField(identity)}<button type="submit">Sign out</button></form>`
    : html``;
  return html`<div class="account"><span class="who"><span class="visually-hidden">Signed in as </span>${shownName(identity.name)}</span>
<span class="badge badge-role" title="role"><span class="visually-hidden">role </span>${identity.role}</span>
<span class="badge badge-tier" title="tier"><span class="visually-hidden">tier </span>${identity.tier}</span>${logout}</div>`;
}

/**
 * htmx sends the session's CSRF token on every request (and hx-ws:send message) from the page:
 * an inherited hx-headers holds it as plain JSON, which htmx parses without eval.
 */
function csrfHeaders(identity: Viewer | undefined): Html {
  return identity?.csrf ? html` hx-headers:inherited="${JSON.stringify({ [CSRF_HEADER]: identity.csrf })}"` : html``;
}

export function layout(options: LayoutOptions, body: Html): Html {
  const nav = (href: string, label: string, key: LayoutOptions["active"]) =>
    html`<a href="${href}"${options.active === key ? html` aria-current="page"` : ""}>${label}</a>`;
  // Before sign-in there is nothing to navigate to; with an identity, a viewer is not offered a form it may not use.
  const links = options.identity === null
    ? html``
    : html`<nav aria-label="Main">${nav("/", "Dashboard", "dashboard")}${options.identity === undefined || mayOperate(options.identity) ? nav("/grid-search/new", "New grid search", "new") : ""}${nav("/live", "Live", "live")}${nav("/data", "Data", "data")}${nav("/ops", "Ops", "ops")}</nav>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorCSS":false}'>
<title>${options.title} · gridcast</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/htmx.min.js"></script>
<script src="/static/hx-ws.min.js"></script>
<script src="/static/app.js" defer></script>
${options.head ?? ""}
</head>
<body${csrfHeaders(options.identity)}>
<header class="top">
  <a class="brand" href="/">gridcast</a>
  ${links}
  <span class="version">v${options.version}</span>
  ${options.active === "login" && options.identity === null ? "" : account(options.identity)}
</header>
${may(options.identity, "admin") ? alertsSlot() : ""}
<main id="main">
${body}
</main>
</body>
</html>`;
}
