// Staff console: bar widths come from data-width (percent); the Content-Security-Policy allows no inline styles.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-width]"), function (bar) {
    var width = parseFloat(bar.getAttribute("data-width"));
    if (!isNaN(width)) { bar.style.width = Math.max(0, Math.min(width, 100)) + "%"; }
  });
})();
