// Behaviours the templates ask for with data attributes, so that no page needs an inline
// handler (the Content-Security-Policy allows scripts from our static files only):
//   <select data-autosubmit>              submits its form when the choice changes
//   <form data-confirm="question?">       asks before submitting; "cancel" keeps the page
//   <input type=checkbox data-check-all="field">  ticks every checkbox named field in its form
//   <button data-print>                   opens the print dialog
(function () {
  "use strict";
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
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) { return; }
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
