// Charts of the manager's workspace, drawn with the vendored Chart.js (static/js/chart.umd.min.js).
// Each <canvas data-chart="..." data-source="id"> reads its data from the json_script element
// with that id; without JavaScript the pages still show every figure as text.
(function () {
  "use strict";
  var TIER_COLOURS = {
    mvc: "#1f7a4d",
    mgc: "#2563eb",
    maintain: "#8a8f98",
    below_zero: "#c2410c",
    "new": "#ca8a04",
    "": "#b8bcc4"
  };
  var TIER_LABELS = {
    mvc: "Most valuable (keep)",
    mgc: "Most growable (grow)",
    maintain: "Maintain",
    below_zero: "Below zero (shed or re-price)",
    "new": "New (develop)",
    "": "Not valued yet"
  };

  function data(canvas) {
    var node = document.getElementById(canvas.dataset.source);
    return node ? JSON.parse(node.textContent) : null;
  }

  function money(value) {
    return Math.round(value).toLocaleString();
  }

  function line(canvas, labels, series, yOptions) {
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: series.map(function (s) {
          return {
            label: s.label,
            data: s.data,
            borderColor: s.colour,
            backgroundColor: s.colour + "22",
            fill: !!s.fill,
            tension: 0.2,
            pointRadius: labels.length > 60 ? 0 : 2,
            spanGaps: true
          };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: series.length > 1 } },
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: yOptions || {} }
      }
    });
  }

  var SERIES_COLOURS = ["#111827", "#2563eb", "#c2410c", "#1f7a4d", "#7c3aed"];

  var draw = {
    tracking: function (canvas, payload) {
      var end = -1;
      payload.dates.forEach(function (d, i) { if (d <= payload.calibration_end) end = i; });
      // The end of the calibration period, as a dashed vertical line.
      var calibrationEnd = {
        id: "calibrationEnd",
        afterDatasetsDraw: function (chart) {
          if (end < 0) return;
          var x = chart.scales.x.getPixelForValue(end);
          var ctx = chart.ctx;
          ctx.save();
          ctx.strokeStyle = "#8a8f98";
          ctx.setLineDash([6, 4]);
          ctx.beginPath();
          ctx.moveTo(x, chart.chartArea.top);
          ctx.lineTo(x, chart.chartArea.bottom);
          ctx.stroke();
          ctx.fillStyle = "#5b6270";
          ctx.fillText("calibration | holdout", x + 4, chart.chartArea.top + 12);
          ctx.restore();
        }
      };
      new Chart(canvas, {
        type: "line",
        data: {
          labels: payload.dates,
          datasets: payload.series.map(function (s, i) {
            var colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
            return { label: s.label, data: s.data, borderColor: colour, backgroundColor: colour,
                     borderWidth: i === 0 ? 3 : 2, borderDash: i === 0 ? [] : [4, 3],
                     pointRadius: 0, tension: 0.1 };
          })
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { ticks: { maxTicksLimit: 10 } },
            y: { title: { display: true, text: "Cumulative repeat transactions" }, min: 0 }
          }
        },
        plugins: [calibrationEnd]
      });
    },
    by_frequency: function (canvas, payload) {
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: payload.labels,
          datasets: payload.series.map(function (s, i) {
            return { label: s.label, data: s.data,
                     backgroundColor: SERIES_COLOURS[i % SERIES_COLOURS.length] + "cc" };
          })
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: {
            x: { title: { display: true, text: "Repeat purchases in the calibration period" } },
            y: { title: { display: true, text: "Mean in the holdout" }, min: 0 }
          }
        }
      });
    },
    equity: function (canvas, rows) {
      line(
        canvas,
        rows.map(function (r) { return r.day; }),
        [{ label: "Customer equity", data: rows.map(function (r) { return r.equity; }),
           colour: "#1f7a4d", fill: true }],
        { ticks: { callback: money } }
      );
    },
    trend: function (canvas, rows) {
      var field = canvas.dataset.field;
      var percent = canvas.dataset.percent === "true";
      var scale = Number(canvas.dataset.scale || (percent ? 100 : 1));
      line(
        canvas,
        rows.map(function (r) { return r.day; }),
        [{ label: canvas.getAttribute("aria-label"),
           data: rows.map(function (r) {
             var v = r[field];
             return v === null || v === undefined ? null : v * scale;
           }),
           colour: canvas.dataset.colour || "#2563eb", fill: true }],
        { ticks: { callback: percent ? function (v) { return v + " %"; } : money },
          min: scale === 100 ? 0 : undefined, max: scale === 100 ? 100 : undefined }
      );
    },
    map: function (canvas, payload) {
      var byTier = {};
      payload.points.forEach(function (p) {
        (byTier[p.tier] = byTier[p.tier] || []).push({ x: p.clv, y: p.growth, name: p.name, url: p.url });
      });
      var datasets = Object.keys(byTier).map(function (tier) {
        return { label: TIER_LABELS[tier] || tier, data: byTier[tier],
                 backgroundColor: (TIER_COLOURS[tier] || "#888") + "cc", pointRadius: 4,
                 pointHoverRadius: 7 };
      });
      var xs = payload.points.map(function (p) { return p.x === undefined ? p.clv : p.x; });
      var ys = payload.points.map(function (p) { return p.growth; });
      var xMin = Math.min.apply(null, xs.concat([0])), xMax = Math.max.apply(null, xs.concat([1]));
      var yMin = Math.min.apply(null, ys.concat([0])), yMax = Math.max.apply(null, ys.concat([1]));
      if (payload.clv_threshold !== null) {
        datasets.push({ type: "line", label: "Most valuable from here", borderColor: "#1f7a4d",
          borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5,
          data: [{ x: payload.clv_threshold, y: yMin }, { x: payload.clv_threshold, y: yMax }] });
      }
      if (payload.growth_threshold !== null) {
        datasets.push({ type: "line", label: "Most growable from here", borderColor: "#2563eb",
          borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5,
          data: [{ x: xMin, y: payload.growth_threshold }, { x: xMax, y: payload.growth_threshold }] });
      }
      var chart = new Chart(canvas, {
        type: "scatter",
        data: { datasets: datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: {
            x: { title: { display: true, text: "Predicted CLV" }, ticks: { callback: money } },
            y: { title: { display: true, text: "Growth potential" }, ticks: { callback: money } }
          },
          plugins: {
            tooltip: { callbacks: { label: function (ctx) {
              var p = ctx.raw;
              return p.name ? p.name + ": CLV " + money(p.x) + ", growth " + money(p.y) : ctx.dataset.label;
            } } }
          },
          onHover: function (event, elements) {
            canvas.style.cursor = elements.length && elements[0].element.$context.raw.url ? "pointer" : "default";
          },
          onClick: function (event, elements) {
            if (!elements.length) return;
            var raw = chart.data.datasets[elements[0].datasetIndex].data[elements[0].index];
            if (raw.url) window.location.href = raw.url;
          }
        }
      });
    }
  };

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var rows = data(canvas);
    if (rows && window.Chart && draw[canvas.dataset.chart]) draw[canvas.dataset.chart](canvas, rows);
  });
})();
