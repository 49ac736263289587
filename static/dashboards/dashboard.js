// Draws each dashboard chart from the same rows as its table (passed with json_script), and
// shades the heatmap cells. No inline script: the page's CSP allows scripts from /static/ only.
(function () {
  "use strict";
  function numeric(value) { return typeof value === "number" ? value : 0; }
  function start() {
    var data = document.getElementById("dash-data");
    if (!data) { return; }
    var tables = {};
    JSON.parse(data.textContent).forEach(function (t) { tables[t.key] = t; });
    // A cell's number as shown, thousands separators and all ("1,234").
    function count(td) { return parseInt(td.textContent.replace(/,/g, ""), 10) || 0; }
    document.querySelectorAll("table.dash-heatmap").forEach(function (table) {
      var max = 0;
      var cells = table.querySelectorAll("tbody td:not(:last-child)");
      cells.forEach(function (td) { max = Math.max(max, count(td)); });
      cells.forEach(function (td) {
        var share = max ? count(td) / max : 0;
        td.style.backgroundColor = "rgba(0, 94, 184, " + (0.08 + 0.8 * share).toFixed(2) + ")";
        if (share > 0.55) { td.style.color = "#fff"; }
      });
    });
    if (typeof window.Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart='bar']").forEach(function (canvas) {
      var table = tables[canvas.dataset.table];
      if (!table) { return; }
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: table.rows.map(function (r) { return String(r[0]); }),
          datasets: [{ label: table.columns[1], data: table.rows.map(function (r) { return numeric(r[1]); }),
                       backgroundColor: "#005eb8" }]
        },
        options: { responsive: true, maintainAspectRatio: false, animation: false,
                   plugins: { legend: { display: false } } }
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
