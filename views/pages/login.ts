// The sign-in page: one field for a token. static/login.js fills it from `#token=` in the URL
// (the first start prints such a link) and clears the fragment; the form posts to /login.
import { html, type Html } from "../html";
import { layout } from "../layout";
import { shownName, type Viewer } from "../controls";

export interface LoginView {
  /** Where to go after signing in: a same-origin path, already checked by the route. */
  next: string;
  /** Why the last attempt failed, shown above the field. */
  error?: string;
  /** Who is signed in already, if anyone (the header says so too). */
  identity: Viewer;
}

export function loginPage(version: string, v: LoginView): Html {
  const signedIn = v.identity && v.identity.kind !== "open";
  return layout({ title: "Sign in", version, active: "login", identity: v.identity, head: html`<script src="/static/login.js" defer></script>` }, html`<section class="panel login" aria-labelledby="login-title">
<h1 id="login-title">Sign in</h1>
${v.identity?.kind === "open" ? html`<p class="notice">Auth is off on this server: every request acts as admin, no token is needed. <a href="/">Go to the dashboard</a>.</p>` : ""}
${signedIn ? html`<p class="notice">Signed in as <strong>${shownName(v.identity!.name)}</strong>. Sign in again to switch tokens.</p>` : ""}
${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ""}
<form method="post" action="/login">
<input type="hidden" name="next" value="${v.next}">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required placeholder="gct_…" aria-describedby="token-hint">
<small id="token-hint" class="muted">An access token (<code>gridcast token create</code>, or the admin login line printed at first start).</small>
<button type="submit" id="login-submit" class="primary">Sign in</button>
</form>
</section>`);
}
