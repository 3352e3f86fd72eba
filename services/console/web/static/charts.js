// The statistics page's charts: the figures come from the page itself (the statistics API's
// answer, embedded as JSON), so the charts and the tables can never disagree.
document.addEventListener("DOMContentLoaded", function () {
  var data = JSON.parse(document.getElementById("chart-data").textContent || "{}");
  function draw(id, rows, type) {
    var el = document.getElementById(id);
    if (!el || !rows || !window.echarts) { return; }
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: {}, grid: { left: 48, right: 16, top: 16, bottom: 56 },
      xAxis: { type: "category", data: rows.map(function (r) { return r.label || r.key; }),
               axisLabel: { interval: 0, rotate: rows.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: type, data: rows.map(function (r) { return r.count; }),
                 itemStyle: { color: "#a4161a" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  draw("chart-channel", (data.channel || {}).rows, "bar");
  var months = ((data.month || {}).rows || []).slice().sort(function (a, b) {
    return a.key < b.key ? -1 : 1; });
  draw("chart-month", months, "line");
});
