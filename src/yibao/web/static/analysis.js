// 决策分析: the report's chart, drawn from the data-spec JSON rendered by the server
// (kind bar / line: x, series name → values; scatter: points; fund: actual, forecast,
// budget per month).
(function () {
  "use strict";
  var el = document.getElementById("analysis-chart");
  if (!el || typeof echarts === "undefined") { return; }
  var spec = JSON.parse(el.getAttribute("data-spec") || "{}");
  var option;
  if (spec.kind === "scatter") {
    option = {
      tooltip: { formatter: function (p) { return p.name + "<br>" + spec.x_name + " " + p.value[0].toFixed(4) + "<br>" + spec.y_name + " " + p.value[1].toFixed(4); } },  // indices: 4 places, as the table
      grid: { left: 60, right: 30, top: 30, bottom: 50 },
      xAxis: { type: "value", name: spec.x_name, nameLocation: "middle", nameGap: 28, scale: true },
      yAxis: { type: "value", name: spec.y_name, scale: true },
      series: [{ type: "scatter", symbolSize: 12, data: spec.points, label: { show: true, position: "right", formatter: "{b}", fontSize: 10 } }]
    };
  } else if (spec.kind === "fund") {
    option = {
      tooltip: { trigger: "axis" },
      legend: { data: ["基金支付（万元）", "预测（万元）", "预算进度（万元）"] },
      grid: { left: 60, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: spec.x },
      yAxis: { type: "value", name: "万元" },
      series: [
        { name: "基金支付（万元）", type: "bar", data: spec.actual },
        { name: "预测（万元）", type: "bar", data: spec.forecast, itemStyle: { color: "#bbb" } },
        { name: "预算进度（万元）", type: "line", data: spec.budget }
      ]
    };
  } else {
    var names = Object.keys(spec.series || {});
    option = {
      tooltip: { trigger: "axis" },
      legend: { data: names },
      grid: { left: 60, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: spec.x || [], axisLabel: { rotate: spec.kind === "bar" ? 30 : 0, fontSize: 10 } },
      yAxis: { type: "value" },
      series: names.map(function (n) { return { name: n, type: spec.kind === "line" ? "line" : "bar", data: spec.series[n] }; })
    };
  }
  var chart = echarts.init(el);
  chart.setOption(option);
  el.setAttribute("data-rendered", "1");
  window.addEventListener("resize", function () { chart.resize(); });
})();
