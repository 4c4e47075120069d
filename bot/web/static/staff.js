// Staff console: bar widths come from data-width (percent); the Content-Security-Policy allows no inline styles.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-width]"), function (bar) {
    var width = parseFloat(bar.getAttribute("data-width"));
    if (!isNaN(width)) { bar.style.width = Math.max(0, Math.min(width, 100)) + "%"; }
  });
})();

// The queue: tick tickets for a bulk action; keyboard: j / k move, Enter opens, x ticks.
(function () {
  "use strict";
  var form = document.getElementById("bulk");
  if (!form) { return; }
  var rows = Array.prototype.slice.call(form.querySelectorAll("tr.ticket-row"));
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=numbers]"));
  var all = form.querySelector(".pick-all");
  var count = form.querySelector(".selected-count b");
  var current = -1;

  function counted() {
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    if (count) { count.textContent = String(ticked); }
    rows.forEach(function (row) {
      var box = row.querySelector("input[name=numbers]");
      row.classList.toggle("picked", !!(box && box.checked));
    });
    if (all) { all.checked = ticked > 0 && ticked === boxes.length; }
  }

  function moveTo(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(index, rows.length - 1));
    rows.forEach(function (row, i) { row.classList.toggle("current", i === current); });
    rows[current].scrollIntoView({ block: "nearest" });
  }

  boxes.forEach(function (box) { box.addEventListener("change", counted); });
  if (all) {
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      counted();
    });
  }
  form.addEventListener("submit", function (event) {
    var op = event.submitter ? event.submitter.value : "";
    if (!boxes.some(function (box) { return box.checked; })) {
      event.preventDefault();
      window.alert("请先勾选要办理的工单");
    } else if (op === "assign" && !form.querySelector("select[name=lead]").value) {
      event.preventDefault();
      window.alert("请选择要派往的部门");
    }
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && /^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName) && target.type !== "checkbox") { return; }
    if (event.key === "j") { moveTo(current + 1); event.preventDefault(); }
    else if (event.key === "k") { moveTo(current - 1); event.preventDefault(); }
    else if (event.key === "x" && current >= 0) {
      var box = rows[current].querySelector("input[name=numbers]");
      if (box) { box.checked = !box.checked; counted(); }
      event.preventDefault();
    } else if (event.key === "Enter" && current >= 0 && target.type !== "checkbox") {
      window.location.href = rows[current].getAttribute("data-href");
      event.preventDefault();
    }
  });
  counted();
})();

// The ticket page: a response template (常用回复) fills its form's text box, to be edited before sending.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("select.reply-templates"), function (select) {
    select.addEventListener("change", function () {
      var box = select.form.querySelector("[name=" + select.getAttribute("data-fills") + "]");
      if (box && select.value) {
        box.value = select.value;
        box.focus();
      }
    });
  });
})();

// Filing on a resident's behalf: a photo over the limit is refused before anything is sent.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-max-bytes]"), function (input) {
    input.addEventListener("change", function () {
      var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
      if (input.files.length && input.files[0].size > limit) {
        window.alert("照片太大了，请选择 5MB 以内的图片");
        input.value = "";
      }
    });
  });
})();
