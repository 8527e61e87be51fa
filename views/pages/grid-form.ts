// The new grid search form. Field names are the API's parameter names; the preview (pairs and
// work) and the inline errors come from the server as the user types; the form itself is a plain
// POST that answers 303 to the job page, so it works without scripts.
import { html, type Html } from "../html";
import { layout } from "../layout";
import { int } from "../format";
import { oobAttr } from "../live";
import { csrfField, mayOperate, type Viewer } from "../controls";

export const GRID_FIELDS = [
  { name: "entry_start", label: "Entry from", def: "0.01", hint: "edge needed to enter, > 0" },
  { name: "entry_stop", label: "Entry to", def: "0.2", hint: "inclusive" },
  { name: "entry_step", label: "Entry step", def: "0.01", hint: "> 0" },
  { name: "exit_start", label: "Exit from", def: "0", hint: "leave when the edge shrinks to this" },
  { name: "exit_stop", label: "Exit to", def: "0.1", hint: "inclusive" },
  { name: "exit_step", label: "Exit step", def: "0.01", hint: "> 0" },
  { name: "fee", label: "Fee", def: "0", hint: "per trade, >= 0" },
  { name: "train_fraction", label: "Train fraction", def: "0.6", hint: "of games, in game order" },
  { name: "valid_fraction", label: "Valid fraction", def: "0.2", hint: "the rest is test" },
] as const;

export type GridFieldName = (typeof GRID_FIELDS)[number]["name"];

export type PreviewView =
  | { ok: true; pairs: number; games: number; work: number }
  | { ok: false; message: string };

export interface GridFormView {
  values: Partial<Record<string, string>>;
  /** Field name -> message; `grid` and `games` are about the whole request. */
  errors: Partial<Record<string, string>>;
  preview?: PreviewView;
}

function fieldError(name: string, message: string | undefined, oob = false): Html {
  return html`<span class="field-error" id="err-${name}"${oobAttr(oob)}>${message ?? ""}</span>`;
}

export function previewBody(p: PreviewView | undefined): Html {
  if (!p) return html`<span class="muted">Pairs and work appear here.</span>`;
  if (!p.ok) return html`<span class="bad">${p.message}</span>`;
  return html`<strong>${int(p.pairs)}</strong> pairs × <strong>${int(p.games)}</strong> games = <strong>${int(p.work)}</strong> pair-game evaluations`;
}

/** The preview endpoint's answer: the preview's content and every field's error (cleared or set). */
export function previewFragment(view: GridFormView): string {
  return String(html`${previewBody(view.preview)}${GRID_FIELDS.map((f) => fieldError(f.name, view.errors[f.name], true))}`);
}

/** The form, or for a role that may not start jobs a line saying so (the guard refuses the POST anyway). */
export function gridForm(view: GridFormView, viewer: Viewer): Html {
  if (!mayOperate(viewer)) {
    return html`<h2>New grid search</h2>
<p class="role-note">Starting a grid search needs the operator role; you are signed in as ${viewer?.role ?? "nobody"}.</p>`;
  }
  const value = (f: (typeof GRID_FIELDS)[number]) => view.values[f.name] ?? f.def;
  const whole = view.errors.grid ?? view.errors.games ?? view.errors.params;
  return html`<form class="grid-form" method="post" action="/grid-search" novalidate aria-labelledby="grid-form-title">
${csrfField(viewer)}
<h2 id="grid-form-title">New grid search</h2>
${whole ? html`<p class="error" role="alert">${whole}</p>` : ""}
<div class="fields">
${GRID_FIELDS.map((f) => html`<div class="field${view.errors[f.name] ? " invalid" : ""}">
<label for="f-${f.name}">${f.label} <code>${f.name}</code></label>
<input id="f-${f.name}" name="${f.name}" type="text" inputmode="decimal" autocomplete="off" value="${value(f)}" aria-describedby="hint-${f.name} err-${f.name}"${view.errors[f.name] ? html` aria-invalid="true"` : ""}>
<small id="hint-${f.name}" class="muted">${f.hint}</small>
${fieldError(f.name, view.errors[f.name])}
</div>`)}
</div>
<p class="preview" id="grid-preview" role="status" aria-live="polite" hx-post="/grid-search/preview" hx-trigger="input delay:300ms from:'closest form'" hx-swap="innerHTML">${previewBody(view.preview)}</p>
<button type="submit" class="primary">Start grid search</button>
</form>`;
}

export function gridFormPage(version: string, identity: Viewer, view: GridFormView): Html {
  return layout({ title: "New grid search", version, active: "new", identity }, html`<section class="panel">${gridForm(view, identity)}</section>`);
}
