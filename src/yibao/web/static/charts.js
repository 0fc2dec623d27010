// Home-page charts (ECharts); data comes from the JSON block rendered by the server.
(function () {
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    var c = echarts.init(el);
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
  }
  chart("chart-month", {
    tooltip: { trigger: "axis" },
    grid: { left: 50, right: 20, top: 20, bottom: 30 },
    xAxis: { type: "category", data: data.by_month.x },
    yAxis: { type: "value", name: "病例" },
    series: [{ type: "bar", data: data.by_month.y, itemStyle: { color: "#0d6efd" } }]
  });
  chart("chart-year", {
    tooltip: { trigger: "axis" },
    legend: { data: ["病例数", "总费用（万元）"] },
    grid: { left: 60, right: 60, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.by_year.x },
    yAxis: [{ type: "value", name: "病例" }, { type: "value", name: "万元" }],
    series: [
      { name: "病例数", type: "bar", data: data.by_year.cases },
      { name: "总费用（万元）", type: "line", yAxisIndex: 1, data: data.by_year.cost }
    ]
  });
  chart("chart-level", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["40%", "70%"], data: data.by_level,
      label: { formatter: "{b}: {d}%" } }]
  });
})();
