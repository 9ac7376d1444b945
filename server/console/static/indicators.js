// 城管通 console: the indicator charts, drawn by the vendored Chart.js from the page's JSON.
(function () {
  "use strict";
  var node = document.getElementById("chart-data");
  if (!node || typeof Chart === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var LIGHTS = ["#d64541", "#d99a00", "#2e9d5b"];
  var SOURCES = { citizen: "#1f4e8c", inspector: "#2e9d5b", hotline: "#d99a00",
                  frontage: "#7a4fb0", toilet: "#3aa0b8", open311: "#8a94a3" };
  var RATES = ["#1f4e8c", "#2e9d5b", "#d64541", "#d99a00"];
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;  // printed and screenshotted: draw at once

  function bar(id, labels, datasets, options) {
    var el = document.getElementById(id);
    if (!el) { return; }
    new Chart(el, { type: "bar", data: { labels: labels, datasets: datasets }, options: options });
  }

  bar("chart-daily", data.daily.labels, data.daily.series.map(function (s) {
    return { label: s.label, data: s.data, backgroundColor: SOURCES[s.key] || "#8a94a3" };
  }), { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true,
        ticks: { precision: 0 } } } });

  bar("chart-departments", data.departments.labels, data.departments.series.map(function (s, i) {
    return { label: s.label, data: s.data, backgroundColor: RATES[i % RATES.length] };
  }), { responsive: true, scales: { y: { beginAtZero: true, max: 100,
        ticks: { callback: function (v) { return v + "%"; } } } } });

  var city = document.getElementById("chart-lights-city");
  if (city) {
    new Chart(city, { type: "doughnut", data: { labels: data.lights.labels,
      datasets: [{ data: data.lights.city, backgroundColor: LIGHTS }] },
      options: { responsive: true, maintainAspectRatio: false } });
  }
  bar("chart-lights-units", data.lights.units, [
    { label: data.lights.labels[0], data: data.lights.red, backgroundColor: LIGHTS[0] },
    { label: data.lights.labels[1], data: data.lights.yellow, backgroundColor: LIGHTS[1] },
    { label: data.lights.labels[2], data: data.lights.green, backgroundColor: LIGHTS[2] }
  ], { indexAxis: "y", responsive: true, maintainAspectRatio: false,
       scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
                 y: { stacked: true } } });
})();
