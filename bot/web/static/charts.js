// Charts of the supervision pages, drawn with Chart.js (vendored, served by the app). The figures
// come from the page's <script type="application/json" id="chart-data">: the Content-Security-Policy
// allows no inline script.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var font = { family: '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif' };
  Chart.defaults.font.family = font.family;
  Chart.defaults.animation = false; // drawn at once: for print and for the screen alike
  Chart.defaults.maintainAspectRatio = false;

  // Each point's and bar's value written beside it: readable on paper, where there are no tooltips.
  var values = {
    id: "values",
    afterDatasetsDraw: function (chart, _args, options) {
      var ctx = chart.ctx;
      ctx.save();
      ctx.font = "12px " + font.family;
      ctx.fillStyle = "#1f2933";
      chart.data.datasets.forEach(function (dataset, i) {
        var meta = chart.getDatasetMeta(i);
        if (meta.hidden) { return; }
        meta.data.forEach(function (element, j) {
          var value = dataset.data[j];
          if (value === null || value === undefined || (options.skipZero && value === 0)) { return; }
          var text = String(value) + (options.suffix || "");
          if (chart.options.indexAxis === "y") {
            ctx.textAlign = "left"; ctx.textBaseline = "middle";
            var x = element.x + 4;
            if (x + ctx.measureText(text).width > chart.chartArea.right) { ctx.textAlign = "right"; x = element.x - 4; ctx.fillStyle = "#fff"; }
            ctx.fillText(text, x, element.y);
            ctx.fillStyle = "#1f2933";
          } else {
            ctx.textAlign = "center"; ctx.textBaseline = "bottom";
            ctx.fillText(text, element.x, element.y - 4);
          }
        });
      });
      ctx.restore();
    }
  };

  function draw(canvas, config) {
    config.plugins = [values];
    canvas.chart = new Chart(canvas, config);
    canvas.setAttribute("data-drawn", "1");
  }

  var trend = document.querySelector('canvas[data-chart="trend"]');
  if (trend) {
    draw(trend, {
      type: "line",
      data: {
        labels: data.trend.labels,
        datasets: [
          { label: "收集", data: data.trend.collected, borderColor: "#546e7a", backgroundColor: "#90a4ae", tension: 0 },
          { label: "办结", data: data.trend.solved, borderColor: "#2e7d32", backgroundColor: "#66bb6a", tension: 0 }
        ]
      },
      options: {
        layout: { padding: { top: 16 } },
        plugins: { legend: { position: "bottom" }, values: { skipZero: true } },
        scales: {
          x: { title: { display: true, text: "周（周一起）" } },
          y: { beginAtZero: true, title: { display: true, text: "件数" }, ticks: { precision: 0 } }
        }
      }
    });
  }

  var satisfaction = document.querySelector('canvas[data-chart="satisfaction"]');
  if (satisfaction) {
    draw(satisfaction, {
      type: "bar",
      data: {
        labels: data.satisfaction.labels,
        datasets: [{ label: "满意率（%）", data: data.satisfaction.rates, backgroundColor: "#1f6fb2" }]
      },
      options: {
        indexAxis: "y",
        plugins: {
          legend: { position: "bottom" },
          values: { suffix: "%" },
          tooltip: {
            callbacks: {
              afterLabel: function (item) { return "已评价 " + data.satisfaction.answered[item.dataIndex] + " 件"; }
            }
          }
        },
        scales: {
          x: { min: 0, max: 100, title: { display: true, text: "满意率（%）" } },
          y: { title: { display: true, text: "部门" } }
        }
      }
    });
  }

  // Printed at the paper's width, not the screen's.
  function resizeAll() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), function (canvas) {
      if (canvas.chart) { canvas.chart.resize(); }
    });
  }
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
