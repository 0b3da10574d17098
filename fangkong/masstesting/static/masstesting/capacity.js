// Capacity planner: draws the Dorfman curve (expected tests per person against pool size)
// from the JSON the server renders beside it, again after every htmx recompute.
(function () {
  "use strict";
  var chart = null;
  function draw() {
    var box = document.getElementById("cap-chart");
    if (!box || !box.dataset.chart || typeof echarts === "undefined") { return; }
    var data = JSON.parse(box.dataset.chart);
    if (chart) { chart.dispose(); }
    chart = echarts.init(box);
    chart.setOption({
      animation: false,
      grid: { left: 60, right: 24, top: 20, bottom: 44 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.k, name: data.labels.x, nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "value", name: data.labels.y, min: 0, nameLocation: "middle", nameGap: 38 },
      series: [{
        type: "line", data: data.e, showSymbol: false, lineStyle: { width: 2, color: "#1d5aa6" },
        markPoint: {
          symbolSize: 44, itemStyle: { color: "#1e7b34" },
          label: { formatter: "k=" + data.best[0] },
          data: [{ coord: [data.k.indexOf(data.best[0]), data.best[1]], value: data.best[1] }]
        },
        markLine: { silent: true, symbol: "none", lineStyle: { color: "#9aa5b1", type: "dashed" },
                    data: [{ yAxis: 1 }], label: { formatter: "1" } }
      }]
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
  window.addEventListener("resize", function () { if (chart) { chart.resize(); } });
})();
