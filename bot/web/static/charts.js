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

  function draw(canvas, config) {
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
        plugins: { legend: { position: "bottom" } },
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
