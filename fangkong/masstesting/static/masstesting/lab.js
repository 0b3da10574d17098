/* Lab receipt scan: after each answer clear the input and keep the focus there, so a barcode
   scanner (which types the code and presses Enter) can scan box after box. Transport page:
   a "select all" checkbox for the tubes to pack. No inline handlers: htmx runs without eval. */
(function () {
  "use strict";
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (!form || form.id !== "lab-receive") return;
    var input = form.querySelector("#lab-barcode");
    if (input) { input.value = ""; input.focus(); }
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box && box.getAttribute && box.getAttribute("data-check-all");
    if (!name) return;
    var form = box.closest("form");
    form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (c) {
      c.checked = box.checked;
    });
  });
})();
