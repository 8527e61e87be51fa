// The sign-in page: the first start's `admin login: http://HOST:PORT/login#token=gct_...` line
// carries the token in the URL fragment, which browsers never send to the server (so it reaches
// no log). This fills the form's field from it and takes it out of the address bar and history.
(function () {
  var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return;
  var token = "";
  try {
    token = decodeURIComponent(m[1]);
  } catch (e) {
    token = m[1];
  }
  history.replaceState(null, "", location.pathname + location.search);
  function fill() {
    var field = document.getElementById("token");
    if (!field) return;
    field.value = token;
    var submit = document.getElementById("login-submit");
    if (submit) submit.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fill);
  else fill();
})();
