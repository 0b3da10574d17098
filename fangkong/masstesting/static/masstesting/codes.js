// Registration-code sheets: pick a grid, tick residents, print.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-autosubmit]") && el.form) {
      el.form.submit();
    } else if (el.matches("[data-check-all]")) {
      var boxes = el.closest("table").querySelectorAll('input[name="person"]');
      boxes.forEach(function (box) { box.checked = el.checked; });
    }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
