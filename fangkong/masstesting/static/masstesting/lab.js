/* Lab receipt scan: after each answer clear the input and keep the focus there, so a barcode
   scanner (which types the code and presses Enter) can scan box after box. (The transport
   page's "select all" box is js/behaviours.js's data-check-all.) */
(function () {
  "use strict";
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (!form || form.id !== "lab-receive") return;
    var input = form.querySelector("#lab-barcode");
    if (input) { input.value = ""; input.focus(); }
  });
})();
