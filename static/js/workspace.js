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

  // The map's "Log" scale is a symlog: sign(v) * log10(1 + |v| / C), drawn on linear axes
  // with tick labels in real money. Chart.js's own logarithmic axis cannot place zero or a
  // negative CLV (the customers to shed), so it would have to hide or clamp exactly the dots
  // that matter most; the symlog keeps every dot in its true order and side of zero, and is
  // nearly linear within ±C, so small values are not blown up either.
  var SYMLOG_C = 10;
  function symlog(v) { return v < 0 ? -Math.log10(1 - v / SYMLOG_C) : Math.log10(1 + v / SYMLOG_C); }
  function symexp(t) { return t < 0 ? -SYMLOG_C * (Math.pow(10, -t) - 1) : SYMLOG_C * (Math.pow(10, t) - 1); }
  // Ticks at 0, ±10, ±30, ±100, ±300, ... in real values, as many as the range holds; a
  // zoomed-in range gets the in-between steps (2, 5, then every digit) so it keeps a few.
  function symlogTicks(min, max) {
    var lo = symexp(min), hi = symexp(max), real = [];
    [[1, 3], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]].some(function (steps) {
      real = lo <= 0 && hi >= 0 ? [0] : [];
      for (var p = 0; p < 12; p++) {
        steps.forEach(function (m) {
          var v = m * Math.pow(10, p);
          if (v < SYMLOG_C) return;  // within ±C the scale is nearly linear: 0 and ±C suffice
          if (v >= lo && v <= hi) real.push(v);
          if (-v >= lo && -v <= hi) real.push(-v);
        });
      }
      return real.length >= 4;
    });
    real.sort(function (a, b) { return a - b; });
    return real.map(function (v) { return { value: symlog(v) }; });
  }

  function drawMap(canvas, payload) {
    var root = canvas.closest(".chart-card");
    var controls = root.querySelector(".map-controls");
    var status = root.querySelector(".map-status");
    var scale = payload.scale === "symlog" ? "symlog" : "linear";
    var f = function (v) { return scale === "symlog" ? symlog(v) : v; };
    var inv = function (t) { return scale === "symlog" ? symexp(t) : t; };
    var matches = [];

    function datasets() {
      var byTier = {};
      payload.points.forEach(function (p) {
        (byTier[p.tier] = byTier[p.tier] || []).push(
          { x: f(p.clv), y: f(p.growth), clv: p.clv, growth: p.growth, name: p.name, url: p.url });
      });
      var list = Object.keys(byTier).map(function (tier) {
        var colour = (TIER_COLOURS[tier] || "#888");
        return { label: TIER_LABELS[tier] || tier, data: byTier[tier],
                 backgroundColor: colour + "cc", borderColor: colour,
                 // A dot found by the search is drawn large and ringed.
                 pointRadius: function (ctx) { return ctx.raw && matches.indexOf(ctx.raw) >= 0 ? 9 : 4; },
                 pointBorderWidth: function (ctx) { return ctx.raw && matches.indexOf(ctx.raw) >= 0 ? 3 : 1; },
                 pointBorderColor: function (ctx) { return ctx.raw && matches.indexOf(ctx.raw) >= 0 ? "#111827" : colour; },
                 pointHoverRadius: 8 };
      });
      var xs = payload.points.map(function (p) { return p.clv; });
      var ys = payload.points.map(function (p) { return p.growth; });
      var xMin = Math.min.apply(null, xs.concat([0])), xMax = Math.max.apply(null, xs.concat([1]));
      var yMin = Math.min.apply(null, ys.concat([0])), yMax = Math.max.apply(null, ys.concat([1]));
      if (payload.clv_threshold !== null) {
        list.push({ type: "line", label: "Most valuable from here", borderColor: "#1f7a4d",
          borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5,
          data: [{ x: f(payload.clv_threshold), y: f(yMin) }, { x: f(payload.clv_threshold), y: f(yMax) }] });
      }
      if (payload.growth_threshold !== null) {
        list.push({ type: "line", label: "Most growable from here", borderColor: "#2563eb",
          borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5,
          data: [{ x: f(xMin), y: f(payload.growth_threshold) }, { x: f(xMax), y: f(payload.growth_threshold) }] });
      }
      return list;
    }

    function axis(title) {
      return {
        title: { display: true, text: title },
        afterBuildTicks: function (ax) { if (scale === "symlog") ax.ticks = symlogTicks(ax.min, ax.max); },
        ticks: { callback: function (value) { return money(inv(value)); } }
      };
    }

    var chart = new Chart(canvas, {
      type: "scatter",
      data: { datasets: datasets() },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: axis("Predicted CLV"), y: axis("Growth potential") },
        plugins: {
          tooltip: { callbacks: { label: function (ctx) {
            var p = ctx.raw;
            return p.name ? p.name + ": CLV " + money(p.clv) + ", growth " + money(p.growth) : ctx.dataset.label;
          } } }
        },
        onHover: function (event, elements) {
          canvas.style.cursor = elements.length && elements[0].element.$context.raw.url ? "pointer" : "crosshair";
        },
        onClick: function (event, elements) {
          if (dragged || !elements.length) return;
          var raw = chart.data.datasets[elements[0].datasetIndex].data[elements[0].index];
          if (raw.url) window.location.href = raw.url;
        }
      }
    });

    function zoomTo(x0, x1, y0, y1) {
      var sx = chart.options.scales.x, sy = chart.options.scales.y;
      sx.min = Math.min(x0, x1); sx.max = Math.max(x0, x1);
      sy.min = Math.min(y0, y1); sy.max = Math.max(y0, y1);
      chart.update();
      status.textContent = "Zoomed in: CLV " + money(inv(sx.min)) + " to " + money(inv(sx.max)) +
        ", growth " + money(inv(sy.min)) + " to " + money(inv(sy.max)) + ".";
    }
    function resetZoom() {
      ["x", "y"].forEach(function (k) { delete chart.options.scales[k].min; delete chart.options.scales[k].max; });
      chart.update();
      status.textContent = "";
    }
    // +/- zoom about the middle of what is shown, in the scale's own (transformed) units.
    function zoomBy(factor) {
      var x = chart.scales.x, y = chart.scales.y;
      var cx = (x.min + x.max) / 2, cy = (y.min + y.max) / 2;
      var hx = (x.max - x.min) * factor / 2, hy = (y.max - y.min) * factor / 2;
      zoomTo(cx - hx, cx + hx, cy - hy, cy + hy);
    }

    // Drag a rectangle over the chart to zoom to it.
    var band = document.createElement("div");
    band.className = "zoom-band";
    band.hidden = true;
    canvas.parentNode.appendChild(band);
    var origin = null, dragged = false;
    canvas.addEventListener("mousedown", function (e) {
      origin = { x: e.offsetX, y: e.offsetY };
      dragged = false;
    });
    canvas.addEventListener("mousemove", function (e) {
      if (!origin) return;
      var w = Math.abs(e.offsetX - origin.x), h = Math.abs(e.offsetY - origin.y);
      if (w < 5 && h < 5) return;
      dragged = true;
      band.hidden = false;
      band.style.left = Math.min(e.offsetX, origin.x) + "px";
      band.style.top = Math.min(e.offsetY, origin.y) + "px";
      band.style.width = w + "px";
      band.style.height = h + "px";
    });
    window.addEventListener("mouseup", function (e) {
      if (!origin) return;
      var start = origin;
      origin = null;
      band.hidden = true;
      if (!dragged) return;
      var rect = canvas.getBoundingClientRect();
      var ex = e.clientX - rect.left, ey = e.clientY - rect.top;
      zoomTo(chart.scales.x.getValueForPixel(start.x), chart.scales.x.getValueForPixel(ex),
             chart.scales.y.getValueForPixel(start.y), chart.scales.y.getValueForPixel(ey));
      setTimeout(function () { dragged = false; }, 0);
    });

    function setScale(next) {
      scale = next;
      controls.querySelectorAll("[data-scale]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.dataset.scale === scale));
      });
      ["x", "y"].forEach(function (k) { delete chart.options.scales[k].min; delete chart.options.scales[k].max; });
      chart.data.datasets = datasets();
      chart.update();
      status.textContent = "";
      search();
    }

    // Find customers by name: their dots are ringed and their tooltip shown.
    var box = controls.querySelector("input[type=search]");
    function search() {
      var q = box.value.trim().toLowerCase();
      matches = [];
      var active = [];
      if (q) {
        chart.data.datasets.forEach(function (ds, di) {
          ds.data.forEach(function (raw, i) {
            if (raw.name && raw.name.toLowerCase().indexOf(q) >= 0) {
              matches.push(raw);
              active.push({ datasetIndex: di, index: i });
            }
          });
        });
      }
      var shown = active.slice(0, 10);
      if (shown.length) {
        // A match outside the zoomed area would be invisible: show everything again.
        var x = chart.scales.x, y = chart.scales.y;
        if (matches.some(function (r) { return r.x < x.min || r.x > x.max || r.y < y.min || r.y > y.max; })) {
          ["x", "y"].forEach(function (k) { delete chart.options.scales[k].min; delete chart.options.scales[k].max; });
        }
      }
      chart.update();
      chart.setActiveElements(shown);
      chart.tooltip.setActiveElements(shown, shown.length ? (function () {
        var el = chart.getDatasetMeta(shown[0].datasetIndex).data[shown[0].index];
        return { x: el.x, y: el.y };
      })() : { x: 0, y: 0 });
      chart.update();
      if (!q) status.textContent = "";
      else if (!matches.length) status.textContent = "No customer on the map matches “" + box.value.trim() + "”.";
      else status.textContent = matches.length + (matches.length === 1 ? " customer matches: " : " customers match: ") +
        matches.slice(0, 10).map(function (r) { return r.name + " (CLV " + money(r.clv) + ", growth " + money(r.growth) + ")"; }).join("; ") +
        (matches.length > 10 ? "; …" : "") + ".";
    }

    controls.hidden = false;
    controls.querySelectorAll("[data-scale]").forEach(function (b) {
      b.addEventListener("click", function () { setScale(b.dataset.scale); });
    });
    controls.querySelector("[data-zoom=in]").addEventListener("click", function () { zoomBy(0.5); });
    controls.querySelector("[data-zoom=out]").addEventListener("click", function () { zoomBy(2); });
    controls.querySelector("[data-zoom=reset]").addEventListener("click", resetZoom);
    box.addEventListener("input", search);
    setScale(scale);
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
      drawMap(canvas, payload);
    }
  };

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var rows = data(canvas);
    if (rows && window.Chart && draw[canvas.dataset.chart]) draw[canvas.dataset.chart](canvas, rows);
  });
})();
