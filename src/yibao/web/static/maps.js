// 地图定位: the region's districts (GeoJSON from the page) coloured by a figure (spending,
// cases, or the audits' 疑点 count / amount), the hospitals as points; a click on a
// district lists its hospitals (drill-down).
(function () {
  "use strict";
  var el = document.getElementById("map-data");
  var box = document.getElementById("chart-map");
  if (!el || !box || typeof echarts === "undefined") { return; }
  var data = JSON.parse(el.textContent);
  var figures = data.figures || { districts: [], hospitals: [] };
  echarts.registerMap("region", data.map);
  var chart = echarts.init(box);
  var LABELS = { cost: "医疗总费用（元）", fund: "基金支付（元）", cases: "病例数", findings: "疑点数", amount: "疑点金额（元）" };
  var select = document.getElementById("map-metric");
  var metric = select && LABELS[select.value] ? select.value : "cost";
  function audited() { return metric === "findings" || metric === "amount"; }
  function sizeOf(h) { return audited() ? h.amount : h.cost; }
  var MONEY = { cost: true, fund: true, amount: true };  // yuan: with fen, as the table
  function fmt(v) { return Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 0 }); }
  function money(v) { return Number(v).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }
  function figure(v, key) { return MONEY[key] ? money(v) : fmt(v); }  // thousands separated
  function draw() {
    var values = figures.districts.map(function (d) { return d[metric]; });
    var max = values.length ? Math.max.apply(null, values) : 1;
    var min = values.length ? Math.min.apply(null, values) : 0;
    var biggest = Math.max.apply(null, [1].concat(figures.hospitals.map(sizeOf)));
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) {
        if (p.seriesType === "scatter") {
          return p.data.name + "<br>" + p.data.level + " 级 · 病例 " + fmt(p.data.cases) + "<br>费用 " + money(p.data.cost) + " 元" +
            "<br>审核 " + fmt(p.data.audits) + " 次 · 疑点 " + fmt(p.data.findings) + " 个 · 疑点金额 " + money(p.data.amount) + " 元";
        }
        return p.name + "<br>" + LABELS[metric] + "：" + (p.value === undefined || isNaN(p.value) ? "—" : figure(p.value, metric));
      } },
      visualMap: { min: min < max ? min : 0, max: max || 1, left: 10, bottom: 10, text: ["高", "低"], calculable: true, seriesIndex: 0,
        precision: MONEY[metric] ? 2 : 0, formatter: function (v) { return figure(v, metric); },
        inRange: { color: audited() ? ["#fff5eb", "#d94801"] : ["#e0f3f8", "#4575b4"] } },
      geo: { map: "region", roam: true, label: { show: true, fontSize: 11 }, itemStyle: { borderColor: "#555" } },
      series: [
        { name: LABELS[metric], type: "map", geoIndex: 0, data: figures.districts.map(function (d) { return { name: d.name, value: d[metric] }; }) },
        { name: "医疗机构", type: "scatter", coordinateSystem: "geo",
          symbolSize: function (v, p) { return 6 + 18 * Math.sqrt(sizeOf(p.data) / biggest); },
          itemStyle: { color: audited() ? "#7a0177" : "#d62728" },
          data: figures.hospitals.filter(function (h) { return h.position; }).map(function (h) {
            return { name: h.name, value: h.position, level: h.level, cases: h.cases, cost: h.cost, district: h.district,
              audits: h.audits, findings: h.findings, amount: h.amount };
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
      [r.name, fmt(r.cases), money(r.cost), fmt(r.findings), money(r.amount)].forEach(function (v, i) {
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
  var keep = document.getElementById("map-metric-keep");
  var year = document.getElementById("map-year");  // no inline handler: the CSP forbids them
  if (year) { year.addEventListener("change", function () { year.form.submit(); }); }
  if (select) {
    select.addEventListener("change", function () {
      metric = select.value;
      if (keep) { keep.value = metric; }  // a change of year keeps the colouring
      draw();
      box.setAttribute("data-metric", metric);
    });
  }
  draw();
  box.setAttribute("data-metric", metric);
  window.addEventListener("resize", function () { chart.resize(); });
  box.setAttribute("data-rendered", "1");
})();
