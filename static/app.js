// gridcast page glue (kept small; htmx does the work). It moves the connection indicator
// (#live) between Connecting, Live, Offline and Final from hx-ws's events, and fires the fallback
// poller (#poller, hx-trigger "gridcast-poll") every 2 s, only while the socket is down and the
// tab is visible, and never once the page shows a final state. Nothing here is evaluated from
// markup: the Content-Security-Policy allows no eval and no inline script.
document.documentElement.classList.add("js");

(function () {
  var LABEL = { connecting: "Connecting", live: "Live", offline: "Offline", final: "Final" };

  function live() {
    return document.getElementById("live");
  }

  function setLive(state) {
    var el = live();
    if (!el || el.dataset.live === state || el.dataset.live === "final") return;
    el.dataset.live = state;
    var text = el.querySelector(".live-text");
    if (text) text.textContent = LABEL[state] + (state === "offline" ? " · polling every 2 s" : "");
  }

  // Polls only while the socket is down.
  function polling() {
    var el = live();
    return !!el && el.dataset.live === "offline" && !document.hidden;
  }
  setInterval(function () {
    var p = document.getElementById("poller");
    if (p && polling()) htmx.trigger(p, "gridcast-poll");
  }, 2000);

  /** hx-ws backs off up to a minute between attempts; once the server answers a poll, try now. */
  function reconnectNow() {
    var el = live();
    if (!el || !el.hasAttribute("hx-ws:connect") || el.dataset.live !== "offline") return;
    var fresh = el.cloneNode(true);
    fresh.dataset.live = "connecting";
    el.replaceWith(fresh);
    htmx.process(fresh);
    setLive("connecting");
  }

  // The data page: when an update finishes (its data-finished stamp changes), reload the games.
  var lastFinished = null;
  function checkUpdate() {
    var st = document.getElementById("update-status");
    if (!st) return;
    var stamp = st.dataset.finished || "";
    if (lastFinished !== null && stamp !== lastFinished) htmx.trigger(document.body, "games-changed");
    lastFinished = stamp;
  }

  function checkFinal() {
    if (document.querySelector("[data-terminal]")) setLive("final");
    checkUpdate();
  }
  document.addEventListener("DOMContentLoaded", checkUpdate);

  // Only the page's socket moves the indicator (not one an htmx swap might bring along).
  document.addEventListener("htmx:ws:after:connection", function (e) {
    if (e.target === live()) setLive("live");
  });
  document.addEventListener("htmx:ws:close", function (e) {
    if (e.target !== live()) return;
    var code = e.detail && e.detail.code;
    if (code === null || code === undefined) return; // removed or cancelled, not a real close
    // 1000: the server ended the stream (a finished job); the final state came before the close.
    if (code === 1000) setLive("final");
    else setLive("offline");
  });
  document.addEventListener("htmx:ws:after:message:incoming", checkFinal);
  document.addEventListener("htmx:after:request", function (e) {
    var src = e.target;
    if (src && src.id === "poller") {
      var ok = e.detail && e.detail.ctx && e.detail.ctx.response && e.detail.ctx.response.status < 500;
      checkFinal();
      if (ok) setTimeout(reconnectNow, 0);
    }
  });
  document.addEventListener("htmx:after:swap", checkFinal);
})();
