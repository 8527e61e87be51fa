// The page shell: head, navigation and the scripts, all from the binary's embedded assets.
import { html, type Html } from "./html";

export interface LayoutOptions {
  title: string;
  version: string;
  active?: "dashboard" | "new" | "data" | "ops";
  /** Extra head elements (e.g. a <noscript> refresh for pages that change). */
  head?: Html;
}

export function layout(options: LayoutOptions, body: Html): Html {
  const nav = (href: string, label: string, key: LayoutOptions["active"]) =>
    html`<a href="${href}"${options.active === key ? html` aria-current="page"` : ""}>${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · gridcast</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/htmx.min.js"></script>
<script src="/static/hx-ws.min.js"></script>
<script src="/static/app.js" defer></script>
${options.head ?? ""}
</head>
<body>
<header class="top">
  <a class="brand" href="/">gridcast</a>
  <nav aria-label="Main">${nav("/", "Dashboard", "dashboard")}${nav("/grid-search/new", "New grid search", "new")}${nav("/data", "Data", "data")}${nav("/ops", "Ops", "ops")}</nav>
  <span class="version">v${options.version}</span>
</header>
<main id="main">
${body}
</main>
</body>
</html>`;
}
