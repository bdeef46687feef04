// The service-level report's chart: the share answered in time per week, a line per channel,
// type or person (data from the json_script the page renders; the table says the same).
(function () {
  "use strict";
  var canvas = document.getElementById("service-level-chart");
  if (!canvas || typeof Chart === "undefined") return;
  var data = JSON.parse(document.getElementById(canvas.dataset.source).textContent);
  var colours = ["#1f6feb", "#067647", "#b54708", "#7a5af8", "#c11574", "#0e9384", "#5f6b7a"];
  var datasets = Object.keys(data.series).map(function (label, index) {
    return {
      label: label,
      data: data.series[label],
      borderColor: colours[index % colours.length],
      backgroundColor: colours[index % colours.length],
      spanGaps: true,
      tension: 0
    };
  });
  new Chart(canvas, {
    type: "line",
    data: { labels: data.weeks, datasets: datasets },
    options: {
      animation: false,
      scales: {
        y: { min: 0, max: 100, ticks: { callback: function (v) { return v + " %"; } } }
      },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + c.parsed.y + " %"; } } } }
    }
  });
})();
