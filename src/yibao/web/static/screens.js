// 实时监控: each module is swapped in by HTMX on its own interval; bar charts in a
// swapped module are drawn from their data-bar JSON (x, series: name → values).
(function () {
  "use strict";
  var COLORS = ["#4575b4", "#d73027", "#91bfdb", "#fc8d59"];
  function draw(root) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("[data-bar]").forEach(function (el) {
      var spec = JSON.parse(el.getAttribute("data-bar"));
      var names = Object.keys(spec.series);
      var chart = echarts.getInstanceByDom(el) || echarts.init(el);
      chart.setOption({
        animation: false,  // redrawn on every refresh: no flicker
        tooltip: { trigger: "axis" },
        legend: { data: names },
        grid: { left: 40, right: 10, top: 30, bottom: 30 },
        xAxis: { type: "category", data: spec.x },
        yAxis: { type: "value", minInterval: 1 },
        series: names.map(function (n, i) { return { name: n, type: "bar", data: spec.series[n], itemStyle: { color: COLORS[i % COLORS.length] } }; })
      });
      el.setAttribute("data-rendered", "1");
    });
  }
  document.body.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
})();
