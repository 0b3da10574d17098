// Behaviours the templates ask for with data attributes, so that no page needs an inline
// handler (the Content-Security-Policy allows scripts from our static files only):
//   <select data-autosubmit>              submits its form when the choice changes
//   <form data-confirm="question?">       asks before submitting; "cancel" keeps the page
//   <input type=checkbox data-check-all="field">  ticks every checkbox named field in its form
//   <button data-print>                   opens the print dialog
//   <form class="filterbar" method="get">  a filter bar: its empty fields stay out of the URL,
//                                          so a filtered list's link names only what was chosen
//   <div id="x" data-live hx-get=... hx-trigger="every 30s" hx-select="#x">  a live part of a
//                                          page: its timed refresh is skipped while the tab is
//                                          hidden or a field inside it is being filled in
// and, for the apps' scripts, fangkong.getJSON(url, {poll}) — the one JSON fetch (same-origin
// cookies; `poll` marks a timed refresh so it does not count as the user being active).
(function () {
  "use strict";
  var fk = (window.fangkong = window.fangkong || {});
  fk.getJSON = function (url, options) {
    var headers = { Accept: "application/json" };
    if (options && options.poll) { headers["X-Fangkong-Poll"] = "1"; }
    return window.fetch(url, { credentials: "same-origin", headers: headers })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); });
  };
  function leaveOutEmpty(form) {
    var emptied = [];
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && !field.disabled && field.value === "" && field.type !== "submit") {
        field.disabled = true;
        emptied.push(field);
      }
    });
    // back once the request has been built (native navigation or htmx's serialisation)
    window.setTimeout(function () { emptied.forEach(function (f) { f.disabled = false; }); }, 0);
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!(el instanceof Element)) { return; }
    if (el.matches("[data-autosubmit]") && el.form) {
      // a plain submit, as the inline handlers did: no submit event, no confirm
      el.form.submit();
    } else if (el.matches("input[type=checkbox][data-check-all]")) {
      var scope = el.form || el.closest("table") || document;
      var name = el.getAttribute("data-check-all");
      scope.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
        if (box !== el && box.name === name) { box.checked = el.checked; }
      });
    }
  });
  // capture phase: runs before htmx's own submit listener, so "cancel" also stops htmx
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    if (form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    if (form.classList.contains("filterbar") && form.method === "get") { leaveOutEmpty(form); }
  }, true);
  function beingFilledIn(el) {
    var active = document.activeElement;
    if (active && el.contains(active) && active.matches("input, textarea, select")) { return true; }
    return Array.prototype.some.call(el.querySelectorAll("input, textarea"), function (f) {
      if (f.type === "checkbox" || f.type === "radio") { return f.checked; }
      return f.type !== "hidden" && f.type !== "submit" && f.value !== "";
    });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail && event.detail.elt;
    if (!(el instanceof Element) || !el.hasAttribute("data-live")) { return; }
    if (document.visibilityState === "hidden" || beingFilledIn(el)) { event.preventDefault(); }
  });
  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
