// A table wider than a narrow screen: it scrolls sideways inside its own box, and says so. The
// edges shade while more lies beyond them and a "scroll →" hint shows while there is more to the
// right (static/app.css, .table-wrap); the box takes keyboard focus, so arrow keys scroll it too.
import { html, type Html } from "./html";

export function scrollTable(label: string, table: Html): Html {
  return html`<div class="table-wrap" role="region" aria-label="${label}" tabindex="0"><span class="scroll-hint" aria-hidden="true">scroll →</span>${table}</div>`;
}
