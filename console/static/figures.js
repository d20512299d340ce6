// The figures page's charts (Apache ECharts, vendored: console/static/vendor.txt). The numbers come from the
// JSON block the page carries (console/figures.py chart_data); the tables under the charts hold the same
// numbers for screen readers and printing. Clicking a bar or a point opens the cases behind it.
(function () {
  "use strict";
  const source = document.getElementById("figures-data");
  if (!source || !window.echarts) return;
  const data = JSON.parse(source.textContent);
  const charts = [];

  function open(urls) {
    return function (params) {
      const url = urls[params.dataIndex];
      if (url) window.location.href = url;
    };
  }

  function make(id, option, urls) {
    const element = document.getElementById(id);
    if (!element) return;
    const chart = window.echarts.init(element, null, { renderer: "svg" });
    chart.setOption(Object.assign({ aria: { enabled: true }, animation: false }, option));
    chart.on("click", open(urls));
    charts.push(chart);
    element.dataset.ready = "true";
  }

  // Bars across the groups (departments, stations, deputies): names on the vertical axis, so that long
  // Chinese names stay readable; the first group on top.
  function groupBars(id, names, series, unit, max) {
    const rows = names.length;
    document.getElementById(id).style.height = Math.max(180, 60 + rows * 26 * Math.max(1, series.length / 2)) + "px";
    make(
      id,
      {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v) => (v == null ? "—" : v + unit) },
        legend: { top: 0, show: series.length > 1 },
        grid: { left: 8, right: 24, top: series.length > 1 ? 32 : 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", max: max, axisLabel: { formatter: "{value}" + unit } },
        yAxis: { type: "category", data: names, inverse: true, axisLabel: { width: 140, overflow: "truncate" } },
        series: series.map((s) => ({ name: s.name, type: "bar", data: s.values, cursor: "pointer" })),
      },
      data.groups.urls
    );
  }

  const groups = data.groups;
  groupBars("chart-group-rates", groups.names, groups.rates, "%", 100);
  groupBars("chart-group-counts", groups.names, groups.counts, "", null);
  groupBars("chart-group-median", groups.names, [{ name: "用时中位数（工作日）", values: groups.median }], "", null);

  const trend = data.trend;
  make(
    "chart-trend-rates",
    {
      tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "—" : v + "%") },
      legend: { top: 0 },
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: trend.names },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: trend.rates.map((s) => ({ name: s.name, type: "line", data: s.values, connectNulls: false, symbolSize: 8 })),
    },
    trend.urls
  );
  make(
    "chart-trend-counts",
    {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 8, top: 56, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: trend.names },
      yAxis: [
        { type: "value", name: "件" },
        { type: "value", name: "工作日", splitLine: { show: false } },
      ],
      series: trend.counts
        .map((s) => ({ name: s.name, type: "bar", data: s.values, cursor: "pointer" }))
        .concat([{ name: "用时中位数（工作日）", type: "line", yAxisIndex: 1, data: trend.median, symbolSize: 8 }]),
    },
    trend.urls
  );

  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
})();
