// Error views: a whole page for a browser navigation, a fragment for an htmx request.
import { html, type Html } from "./html";
import { layout } from "./layout";

export function errorFragment(status: number, message: string): Html {
  return html`<div class="error" role="alert"><strong>${status}</strong> ${message}</div>`;
}

export function errorPage(status: number, message: string, version: string): Html {
  return layout({ title: String(status), version }, html`<section class="panel">
<h1>${status === 404 ? "Not found" : "Something went wrong"}</h1>
${errorFragment(status, message)}
<p><a href="/">Back to the dashboard</a></p>
</section>`);
}
