// The dashboard's charts, drawn from the figures embedded in the fragment (the statistics
// API's answer), and drawn again each time htmx swaps in fresh figures.
(function () {
  var charts = {};
  function draw(id, rows, series) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return; }
    if (charts[id]) { charts[id].dispose(); }
    var chart = window.echarts.init(el);
    charts[id] = chart;
    chart.setOption({
      tooltip: { trigger: "axis" }, legend: series.length > 1 ? { bottom: 0 } : undefined,
      grid: { left: 48, right: 16, top: 16, bottom: series.length > 1 ? 64 : 56 },
      xAxis: { type: "category", data: rows.map(function (r) { return r.label || r.key; }),
               axisLabel: { interval: 0, rotate: rows.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: series.map(function (s) {
        return { name: s.name, type: s.type, itemStyle: { color: s.color },
                 data: rows.map(function (r) { return r[s.field]; }) };
      })
    });
  }
  function render() {
    var node = document.getElementById("dash-data");
    if (!node) { return; }
    var data = JSON.parse(node.textContent || "{}");
    draw("dash-chart-channel", data.channel || [],
         [{ name: "受理", type: "bar", field: "count", color: "#a4161a" }]);
    draw("dash-chart-month", data.month || [],
         [{ name: "受理", type: "line", field: "count", color: "#a4161a" },
          { name: "办结", type: "line", field: "closed", color: "#1d63c6" }]);
  }
  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:afterSwap", render);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
})();
