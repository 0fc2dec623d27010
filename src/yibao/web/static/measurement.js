// 测算 pages: ECharts charts from the page's JSON block (#m-data), the DRG cost
// distribution (fetched per DRG), form helpers and waiting for a run's job.
(function () {
  "use strict";
  var dataEl = document.getElementById("m-data");
  var data = dataEl ? JSON.parse(dataEl.textContent) : {};
  var charts = [];
  var LEVELS = { "1": "一级", "2": "二级", "3": "三级" };
  var COLORS = { cost: "#6c757d", payment: "#0d6efd", budget: "#fd7e14", gain: "#198754", loss: "#dc3545" };

  function num(v) { return v === null || v === undefined || v === "" ? null : Number(v); }
  function wan(v) { var n = num(v); return n === null ? null : Math.round(n / 1000) / 10; }
  function fmt(n, digits) {
    return n === null || n === undefined ? "—" : Number(n).toLocaleString("zh-CN", { maximumFractionDigits: digits === undefined ? 1 : digits });
  }
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") return null;
    var c = echarts.getInstanceByDom(el) || echarts.init(el);
    c.setOption(option, true);
    if (charts.indexOf(c) < 0) charts.push(c);
    return c;
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  // ------------------------------------------------------------ run page
  var rwLog = document.getElementById("rw-log");
  var drawRw = function () {
    var mdcs = data.rw_mdc;
    chart("chart-rw-mdc", {
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var m = mdcs[p.dataIndex];
          if (p.seriesType === "scatter") return m.mdc + " 平均 RW " + fmt(m.mean, 4);
          return m.mdc + "（" + m.drgs + " 个 DRG）<br>最小 " + fmt(m.min, 4) + "<br>Q1 " + fmt(m.q1, 4) +
            "<br>中位数 " + fmt(m.median, 4) + "<br>Q3 " + fmt(m.q3, 4) + "<br>最大 " + fmt(m.max, 4);
        }
      },
      legend: { data: ["RW 分布", "平均 RW"], top: 0 },
      grid: { left: 45, right: 15, top: 30, bottom: 55 },
      xAxis: { type: "category", data: mdcs.map(function (m) { return m.mdc.replace(/^MDC/, ""); }), name: "MDC", nameLocation: "middle", nameGap: 28 },
      yAxis: { type: rwLog && rwLog.checked ? "log" : "value", name: "RW" },
      series: [
        { name: "RW 分布", type: "boxplot", itemStyle: { color: "#cfe2ff", borderColor: "#0d6efd" },
          data: mdcs.map(function (m) { return [m.min, m.q1, m.median, m.q3, m.max]; }) },
        { name: "平均 RW", type: "scatter", symbolSize: 6, itemStyle: { color: "#dc3545" },
          data: mdcs.map(function (m) { return m.mean; }) }
      ]
    });
  };
  if (data.rw_mdc) {
    drawRw();
    if (rwLog) rwLog.addEventListener("change", drawRw);
  }

  var drgSelect = document.getElementById("drg-select");
  if (drgSelect) {
    var runId = drgSelect.getAttribute("data-run");
    var logBox = document.getElementById("drg-log");
    var last = null;
    var drawDrg = function () {
      if (!last) return;
      var d = last.dist, fences = last.fences, years = d.years;
      var fenceBy = {};
      fences.forEach(function (f) { fenceBy[f.year] = f; });
      var cats = years.map(function (y) { return String(y.year); });
      var lows = [], highs = [], lowerMarks = [], upperMarks = [];
      years.forEach(function (y, i) {
        y.trimmed_low.forEach(function (v) { lows.push([i, v]); });
        y.trimmed_high.forEach(function (v) { highs.push([i, v]); });
        var f = fenceBy[y.year];
        if (f && f.applied) {
          if (f.lower !== null && f.lower > 0) lowerMarks.push([i, f.lower]);
          if (f.upper !== null) upperMarks.push([i, f.upper]);
        }
      });
      var useLog = logBox && logBox.checked;
      chart("chart-drg", {
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            var y = years[p.dataIndex !== undefined && p.seriesType === "boxplot" ? p.dataIndex : p.value[0]];
            if (p.seriesType === "boxplot") {
              return y.year + " 年 " + y.cases + " 例<br>最小 " + fmt(y.min, 0) + "<br>Q1 " + fmt(y.q1, 0) + "<br>中位数 " +
                fmt(y.median, 0) + "<br>Q3 " + fmt(y.q3, 0) + "<br>最大 " + fmt(y.max, 0) + "<br>均值 " + fmt(y.mean, 0);
            }
            return y.year + " 年 " + p.seriesName + "：" + fmt(p.value[1], 0) + " 元";
          }
        },
        legend: { data: ["费用分布", "下界", "上界", "裁去（低）", "裁去（高）"], top: 0 },
        grid: { left: 70, right: 15, top: 30, bottom: 30 },
        xAxis: { type: "category", data: cats },
        yAxis: { type: useLog ? "log" : "value", name: "元", scale: true,
                 axisLabel: { formatter: function (v) { return fmt(v, 0); } } },
        series: [
          { name: "费用分布", type: "boxplot", itemStyle: { color: "#e7f1ff", borderColor: "#0d6efd" },
            data: years.map(function (y) { return y.cases ? [y.min, y.q1, y.median, y.q3, y.max] : []; }) },
          { name: "下界", type: "scatter", symbol: "rect", symbolSize: [70, 3], itemStyle: { color: "#fd7e14" }, data: lowerMarks, z: 5 },
          { name: "上界", type: "scatter", symbol: "rect", symbolSize: [70, 3], itemStyle: { color: "#dc3545" }, data: upperMarks, z: 5 },
          { name: "裁去（低）", type: "scatter", symbolSize: 5, itemStyle: { color: "#fd7e14", opacity: 0.6 }, data: lows },
          { name: "裁去（高）", type: "scatter", symbolSize: 5, itemStyle: { color: "#dc3545", opacity: 0.6 }, data: highs }
        ]
      });
      var note = document.getElementById("drg-note");
      if (note) {
        note.textContent = years.map(function (y) {
          var f = fenceBy[y.year];
          if (!f) return y.year + "：无病例";
          if (!f.applied) return y.year + "：" + y.cases + " 例（不足最少病例数，未裁剪）";
          return y.year + "：界值 " + fmt(f.lower, 0) + " – " + fmt(f.upper, 0) + " 元，裁去 " + f.below + " + " + f.above + " 例";
        }).join("；");
      }
    };
    var loadDrg = function () {
      var drg = encodeURIComponent(drgSelect.value);
      if (!drg) return;
      Promise.all([
        fetch("/measurement/runs/" + runId + "/distribution?drg=" + drg, { credentials: "same-origin" }).then(function (r) { return r.json(); }),
        fetch("/api/measurement/runs/" + runId + "/fences?drg=" + drg, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      ]).then(function (res) { last = { dist: res[0], fences: res[1] }; drawDrg(); });
    };
    drgSelect.addEventListener("change", loadDrg);
    if (logBox) logBox.addEventListener("change", drawDrg);
    loadDrg();
  }

  // ------------------------------------------------------------ simulation page
  if (data.hospitals && data.hospitals.length) {
    var hs = data.hospitals;
    chart("chart-hospitals", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: ["医疗总费用", "DRG 支付"], top: 0 },
      grid: { left: 60, right: 15, top: 30, bottom: 95 },
      xAxis: { type: "category", data: hs.map(function (h) { return h.hospital_name; }),
               axisLabel: { rotate: 40, interval: 0, fontSize: 11 } },
      yAxis: { type: "value", name: "万元" },
      series: [
        { name: "医疗总费用", type: "bar", itemStyle: { color: COLORS.cost }, data: hs.map(function (h) { return wan(h.total_cost); }) },
        { name: "DRG 支付", type: "bar", itemStyle: { color: COLORS.payment }, data: hs.map(function (h) { return wan(h.drg_payment); }) }
      ]
    });
    var byBalance = hs.slice().sort(function (a, b) { return num(a.balance) - num(b.balance); });
    chart("chart-balance", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
                 formatter: function (ps) { var h = byBalance[ps[0].dataIndex]; return h.hospital_name + "<br>盈亏 " + fmt(wan(h.balance)) + " 万元"; } },
      grid: { left: 60, right: 15, top: 30, bottom: 95 },
      xAxis: { type: "category", data: byBalance.map(function (h) { return h.hospital_name; }),
               axisLabel: { rotate: 40, interval: 0, fontSize: 11 } },
      yAxis: { type: "value", name: "万元" },
      series: [{ name: "盈亏", type: "bar", data: byBalance.map(function (h) {
        var v = wan(h.balance);
        return { value: v, itemStyle: { color: v < 0 ? COLORS.loss : COLORS.gain } };
      }) }]
    });
  }
  if (data.levels && data.levels.length) {
    var ls = data.levels.slice().reverse();
    chart("chart-levels", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: ["医疗总费用", "DRG 支付", "基金支付估算"], top: 0 },
      grid: { left: 60, right: 15, top: 30, bottom: 25 },
      xAxis: { type: "category", data: ls.map(function (l) { return LEVELS[l.hospital_level] || l.hospital_level; }) },
      yAxis: { type: "value", name: "万元" },
      series: [
        { name: "医疗总费用", type: "bar", itemStyle: { color: COLORS.cost }, data: ls.map(function (l) { return wan(l.total_cost); }) },
        { name: "DRG 支付", type: "bar", itemStyle: { color: COLORS.payment }, data: ls.map(function (l) { return wan(l.drg_payment); }),
          label: { show: true, position: "top", fontSize: 10,
                   formatter: function (p) { var r = num(ls[p.dataIndex].payment_ratio); return r === null ? "" : (r * 100).toFixed(1) + "%"; } } },
        { name: "基金支付估算", type: "bar", itemStyle: { color: "#20c997" }, data: ls.map(function (l) { return wan(l.fund_estimate); }) }
      ]
    });
  }
  if (data.distribution && data.distribution.length) {
    var ds = data.distribution, n = ds.length;
    chart("chart-distribution", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
                 formatter: function (ps) { var d = ds[ps[0].dataIndex]; return "费用/标准 " + d.ratio_band + "<br>" + d.cases + " 例<br>医疗总费用 " + fmt(wan(d.total_cost)) + " 万元<br>DRG 支付 " + fmt(wan(d.drg_payment)) + " 万元"; } },
      grid: { left: 55, right: 15, top: 30, bottom: 40 },
      xAxis: { type: "category", data: ds.map(function (d) { return d.ratio_band; }), name: "费用 ÷ 支付标准", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "value", name: "病例" },
      series: [{ type: "bar", data: ds.map(function (d, i) {
        var color = i === 0 ? COLORS.budget : (i >= n - 2 ? COLORS.loss : COLORS.payment);
        return { value: d.cases, itemStyle: { color: color } };
      }) }]
    });
  }
  if (data.classes && data.classes.length) {
    chart("chart-classes", {
      tooltip: { trigger: "item", formatter: "{b}：{c} 例（{d}%）" },
      legend: { orient: "vertical", left: 0, top: "middle" },
      series: [{ type: "pie", radius: ["40%", "70%"], center: ["62%", "50%"], label: { formatter: "{d}%" },
                 data: data.classes.map(function (c) { return { name: c.class_name, value: c.cases }; }) }]
    });
  }

  // ------------------------------------------------------------ comparison
  if (data.compare && data.compare.length) {
    var cs = data.compare;
    var names = cs.map(function (c) { return "#" + c.id + " " + c.scenario; });
    chart("chart-compare", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: ["医疗总费用", "DRG 支付", "预算"], top: 0 },
      grid: { left: 60, right: 15, top: 30, bottom: 30 },
      xAxis: { type: "category", data: names },
      yAxis: { type: "value", name: "万元" },
      series: [
        { name: "医疗总费用", type: "bar", itemStyle: { color: COLORS.cost }, data: cs.map(function (c) { return wan(c.total_cost); }) },
        { name: "DRG 支付", type: "bar", itemStyle: { color: COLORS.payment }, data: cs.map(function (c) { return wan(c.drg_payment); }) },
        { name: "预算", type: "bar", itemStyle: { color: COLORS.budget }, data: cs.map(function (c) { return wan(c.budget); }) }
      ]
    });
    var cl = data.compare_levels || [];
    chart("chart-compare-levels", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: names, top: 0 },
      grid: { left: 60, right: 15, top: 30, bottom: 30 },
      xAxis: { type: "category", data: ["三级", "二级", "一级"] },
      yAxis: { type: "value", name: "万元" },
      series: cs.map(function (c, i) {
        return { name: names[i], type: "bar", data: ["3", "2", "1"].map(function (lv) {
          var row = cl.filter(function (l) { return l.id === c.id && l.hospital_level === lv; })[0];
          return row ? wan(row.drg_payment) : null;
        }) };
      })
    });
  }

  // ------------------------------------------------------------ indices
  if (data.indices && data.indices.length) {
    var xs = data.indices;
    var label = function (r) { return r.hospital_name + (r.discharge_dept ? " · " + r.discharge_dept : ""); };
    var levelColor = { "3": "#0d6efd", "2": "#6f42c1", "1": "#20c997" };
    chart("chart-indices", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: ["CMI", "费用消耗指数", "时间消耗指数"], top: 0 },
      grid: { left: 50, right: 50, top: 30, bottom: 110 },
      xAxis: { type: "category", data: xs.map(label), axisLabel: { rotate: 45, interval: 0, fontSize: 11 } },
      yAxis: [{ type: "value", name: "CMI" }, { type: "value", name: "指数", scale: true, splitLine: { show: false } }],
      series: [
        { name: "CMI", type: "bar", data: xs.map(function (r) { return { value: num(r.cmi), itemStyle: { color: levelColor[r.hospital_level] || "#0d6efd" } }; }) },
        { name: "费用消耗指数", type: "line", yAxisIndex: 1, symbolSize: 5, itemStyle: { color: COLORS.loss }, data: xs.map(function (r) { return r.cost_index; }) },
        { name: "时间消耗指数", type: "line", yAxisIndex: 1, symbolSize: 5, itemStyle: { color: COLORS.budget }, data: xs.map(function (r) { return r.time_index; }) }
      ]
    });
  }

  // ------------------------------------------------------------ form helpers
  function toggle(selectId, attr) {
    var sel = document.getElementById(selectId);
    if (!sel) return;
    var update = function () {
      document.querySelectorAll("[" + attr + "]").forEach(function (el) {
        el.classList.toggle("d-none", el.getAttribute(attr) !== sel.value);
      });
    };
    sel.addEventListener("change", update);
    update();
  }
  toggle("f-run-trim-method", "data-trim");
  toggle("f-rate-mode", "data-mode");
  var fund = document.getElementById("f-sim-fund_share");
  var share = document.getElementById("f-sim-fixed_fund_share");
  if (fund && share) {
    var f = function () { share.parentElement.classList.toggle("d-none", fund.value !== "fixed"); };
    fund.addEventListener("change", f);
    f();
  }
  var wp = document.getElementById("p-wp"), rp = document.getElementById("p-rp");
  if (wp && rp) {
    var g = function () {
      Array.prototype.forEach.call(rp.options, function (o) {
        var owner = o.getAttribute("data-weight-plan");
        o.hidden = !!(owner && wp.value && owner !== wp.value);
      });
      var sel = rp.options[rp.selectedIndex];
      if (sel && sel.hidden) rp.value = "";
    };
    wp.addEventListener("change", g);
    g();
  }

  // ------------------------------------------------------------ DIP catalogue page
  if (data.dip_types) {
    var types = data.dip_types;
    chart("chart-dip-types", {
      tooltip: { trigger: "axis" },
      legend: { data: ["核心病种", "综合病种", "核心病种病例", "综合病种病例"] },
      grid: { left: 60, right: 60, top: 50, bottom: 30 },
      xAxis: { type: "category", data: types.map(function (t) { return t.type; }) },
      yAxis: [{ type: "value", name: "病种" }, { type: "value", name: "病例" }],
      series: [
        { name: "核心病种", type: "bar", stack: "g", data: types.map(function (t) { return t.core_groups; }), itemStyle: { color: COLORS.payment } },
        { name: "综合病种", type: "bar", stack: "g", data: types.map(function (t) { return t.comprehensive_groups; }), itemStyle: { color: COLORS.cost } },
        { name: "核心病种病例", type: "line", yAxisIndex: 1, data: types.map(function (t) { return t.core_cases; }), itemStyle: { color: COLORS.gain } },
        { name: "综合病种病例", type: "line", yAxisIndex: 1, data: types.map(function (t) { return t.comprehensive_cases; }), itemStyle: { color: COLORS.budget } }
      ]
    });
    var sizes = data.dip_sizes;
    chart("chart-dip-sizes", {
      tooltip: { trigger: "axis" },
      legend: { data: ["病种数", "病例数"] },
      grid: { left: 50, right: 60, top: 50, bottom: 30 },
      xAxis: { type: "category", name: "每组病例", data: sizes.map(function (b) { return b.label; }) },
      yAxis: [{ type: "value", name: "病种" }, { type: "value", name: "病例" }],
      series: [
        { name: "病种数", type: "bar", data: sizes.map(function (b) { return b.groups; }), itemStyle: { color: COLORS.payment } },
        { name: "病例数", type: "line", yAxisIndex: 1, data: sizes.map(function (b) { return b.cases; }), itemStyle: { color: COLORS.gain } }
      ]
    });
  }

  if (data.dip_hospitals) {
    var hs = data.dip_hospitals;
    chart("chart-dip-hospitals", {
      tooltip: { trigger: "axis" },
      legend: { data: ["医疗总费用（万元）", "DIP 支付（万元）"] },
      grid: { left: 60, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: hs.map(function (h) { return h.code; }), axisLabel: { rotate: 40 } },
      yAxis: { type: "value", name: "万元" },
      series: [
        { name: "医疗总费用（万元）", type: "bar", data: hs.map(function (h) { return wan(h.cost); }), itemStyle: { color: COLORS.cost } },
        { name: "DIP 支付（万元）", type: "bar", data: hs.map(function (h) { return wan(h.payment); }), itemStyle: { color: COLORS.payment } }
      ]
    });
  }

  if (data.dip_compare) {
    var cmp = data.dip_compare;
    chart("chart-dip-compare", {
      tooltip: { trigger: "axis" },
      legend: { data: ["DRG 支付（万元）", "DIP 支付（万元）"] },
      grid: { left: 60, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: cmp.map(function (h) { return h.code; }), axisLabel: { rotate: 40 } },
      yAxis: { type: "value", name: "万元" },
      series: [
        { name: "DRG 支付（万元）", type: "bar", data: cmp.map(function (h) { return wan(h.drg); }), itemStyle: { color: COLORS.budget } },
        { name: "DIP 支付（万元）", type: "bar", data: cmp.map(function (h) { return wan(h.dip); }), itemStyle: { color: COLORS.payment } }
      ]
    });
  }

  if (data.dip_compare_drg && data.dip_compare_drg.length) {
    var byDrg = data.dip_compare_drg;
    chart("chart-dip-compare-drg", {
      tooltip: { trigger: "axis" },
      grid: { left: 60, right: 20, top: 30, bottom: 60 },
      xAxis: { type: "category", data: byDrg.map(function (d) { return d.drg || "未分组"; }), axisLabel: { rotate: 40 } },
      yAxis: { type: "value", name: "DIP − DRG（万元）" },
      series: [{
        name: "DIP − DRG（万元）", type: "bar",
        data: byDrg.map(function (d) {
          var v = wan(d.difference);
          return { value: v, itemStyle: { color: v >= 0 ? "#198754" : "#dc3545" } };
        })
      }]
    });
  }

  // ------------------------------------------------------------ waiting for a run's job
  var wait = document.querySelector("[data-job-wait]");
  if (wait) {
    var jobId = wait.getAttribute("data-job-wait");
    var poll = function () {
      fetch("/api/jobs/" + jobId, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (j) {
        if (j.status === "succeeded" || j.status === "failed") { window.location.reload(); } else { setTimeout(poll, 1500); }
      }).catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1500);
  }
})();
