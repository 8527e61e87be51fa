// Who the page is for, and what that decides in the views: which controls show (a role that may
// not use a control does not see it; the guard refuses it anyway) and the CSRF token every
// changing form carries (access.md "Refusals": a cookie-authenticated change carries `_csrf`).
import { roleAtLeast, type Identity, type Role } from "../src/access/roles";
import { CSRF_FIELD } from "../src/access/index";
import { html, type Html } from "./html";

/** The identity a page is rendered for; null: nobody is signed in (only /login renders so). */
export type Viewer = Identity | null;

/** May this viewer use a control that needs `role`? Auth off is admin, so everything shows. */
export const may = (viewer: Viewer | undefined, role: Role): boolean => !!viewer && roleAtLeast(viewer.role, role);

/** Operators start and cancel jobs, import games and load demo data. */
export const mayOperate = (viewer: Viewer | undefined) => may(viewer, "operator");

/** The hidden `_csrf` field of a changing form; empty when the viewer has no session (bearer or auth off). */
export function csrfField(viewer: Viewer | undefined): Html {
  return viewer?.csrf ? html`<input type="hidden" name="${CSRF_FIELD}" value="${viewer.csrf}">` : html``;
}

/** `?_csrf=...` for a multipart form's action: the guard reads no multipart body, so the token rides the URL. */
export function csrfQuery(viewer: Viewer | undefined, prefix: "?" | "&" = "?"): string {
  return viewer?.csrf ? `${prefix}${CSRF_FIELD}=${encodeURIComponent(viewer.csrf)}` : "";
}

// C0 and C1 controls, DEL and the line/paragraph separators. The store refuses them in token
// names; a page shows any that reach it anyway (a row written by another tool) as visible
// `\u{..}` text, so a name cannot hide what follows it or fake a line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A token name as a page shows it: control characters made visible (the html tag escapes the markup). */
export const shownName = (name: string | null | undefined): string =>
  (name ?? "").replace(CONTROL, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
