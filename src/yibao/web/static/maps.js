// 地图定位: the region's districts (GeoJSON from the page) coloured by a figure, the
// hospitals as points; a click on a district lists its hospitals (drill-down).
(function () {
  "use strict";
  var el = document.getElementById("map-data");
  var box = document.getElementById("chart-map");
  if (!el || !box || typeof echarts === "undefined") { return; }
  var data = JSON.parse(el.textContent);
  var figures = data.figures || { districts: [], hospitals: [] };
  echarts.registerMap("region", data.map);
  var chart = echarts.init(box);
  var LABELS = { cost: "医疗总费用（元）", fund: "基金支付（元）", cases: "病例数" };
  var metric = "cost";
  function fmt(v) { return Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 2 }); }
  function draw() {
    var values = figures.districts.map(function (d) { return d[metric]; });
    var max = values.length ? Math.max.apply(null, values) : 1;
    var min = values.length ? Math.min.apply(null, values) : 0;
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) {
        if (p.seriesType === "scatter") { return p.data.name + "<br>" + p.data.level + " 级 · 病例 " + fmt(p.data.cases) + "<br>费用 " + fmt(p.data.cost) + " 元"; }
        return p.name + "<br>" + LABELS[metric] + "：" + (p.value === undefined || isNaN(p.value) ? "—" : fmt(p.value));
      } },
      visualMap: { min: min < max ? min : 0, max: max || 1, left: 10, bottom: 10, text: ["高", "低"], calculable: true, seriesIndex: 0, inRange: { color: ["#e0f3f8", "#4575b4"] } },
      geo: { map: "region", roam: true, label: { show: true, fontSize: 11 }, itemStyle: { borderColor: "#555" } },
      series: [
        { name: LABELS[metric], type: "map", geoIndex: 0, data: figures.districts.map(function (d) { return { name: d.name, value: d[metric] }; }) },
        { name: "医疗机构", type: "scatter", coordinateSystem: "geo",
          symbolSize: function (v, p) { return 6 + 18 * Math.sqrt(p.data.cost / (figures.hospitals[0] ? figures.hospitals[0].cost || 1 : 1)); },
          itemStyle: { color: "#d62728" },
          data: figures.hospitals.filter(function (h) { return h.position; }).map(function (h) {
            return { name: h.name, value: h.position, level: h.level, cases: h.cases, cost: h.cost, district: h.district };
          }) }
      ]
    }, true);
  }
  function list(rows, title) {
    document.getElementById("map-drill-title").textContent = title;
    var body = document.getElementById("map-rows");
    body.innerHTML = "";
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-testid", "map-hospital-row");
      [r.name, fmt(r.cases), fmt(r.cost)].forEach(function (v, i) {
        var td = document.createElement("td");
        if (i) { td.className = "text-end"; }
        td.textContent = v;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }
  chart.on("click", function (p) {
    var name = p.seriesType === "scatter" ? null : p.name;
    var d = figures.districts.filter(function (x) { return x.name === name; })[0];
    if (d) { list(figures.hospitals.filter(function (h) { return h.district === d.code; }), d.name + " 的医疗机构"); }
  });
  var select = document.getElementById("map-metric");
  if (select) { select.addEventListener("change", function () { metric = select.value; draw(); }); }
  draw();
  window.addEventListener("resize", function () { chart.resize(); });
  box.setAttribute("data-rendered", "1");
})();
