// Small glue for htmx: report failed requests, and reload into the login page when the
// session timed out (a fragment request was redirected to /login/).
(function () {
  "use strict";
  function flash(message) {
    var box = document.getElementById("flash");
    if (!box) { return; }
    box.textContent = message;
    box.hidden = false;
    window.clearTimeout(flash.timer);
    flash.timer = window.setTimeout(function () { box.hidden = true; }, 8000);
  }
  function landedOnLogin(xhr) {
    try { return new URL(xhr.responseURL).pathname === "/login/"; } catch (e) { return false; }
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && landedOnLogin(event.detail.xhr)) {
      event.detail.shouldSwap = false;
      window.location.reload();
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    flash(document.body.dataset.msgFailed + " (" + status + ")");
  });
  document.addEventListener("htmx:sendError", function () {
    flash(document.body.dataset.msgOffline);
  });
})();
