// Live bundle cost and margin on the offering admin page, while the admin types.
// Sums the costs (and prices) of the component rows that are not marked for deletion.
(function () {
  "use strict";

  function cents(input) {
    var value = parseFloat((input && input.value || "").replace(",", "."));
    return isNaN(value) ? 0 : Math.round(value * 100);
  }

  function money(c) {
    var sign = c < 0 ? "-" : "";
    var abs = Math.abs(c);
    var whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + whole + "." + String(abs % 100).padStart(2, "0");
  }

  function show(field, text) {
    var box = document.querySelector(".field-" + field + " .readonly");
    if (box) box.textContent = text;
  }

  function update() {
    var cost = 0, listPrice = 0;
    document.querySelectorAll("tr.form-row").forEach(function (row) {
      if (row.id.indexOf("__prefix__") !== -1 || row.classList.contains("empty-form")) return;
      var deleted = row.querySelector('input[name$="-DELETE"]');
      if (deleted && deleted.checked) return;
      cost += cents(row.querySelector('input[name$="-cost"]'));
      listPrice += cents(row.querySelector('input[name$="-price"]'));
    });
    var price = cents(document.getElementById("id_price"));
    var margin = price - cost;
    show("components_price", money(listPrice));
    show("bundle_cost", money(cost));
    show("bundle_margin", money(margin));
    show("bundle_margin_percent", price ? (Math.round(margin * 1000 / price) / 10).toFixed(1) + " %" : "—");
  }

  document.addEventListener("input", update);
  document.addEventListener("change", update);
  document.addEventListener("formset:added", update);
  document.addEventListener("formset:removed", update);
  document.addEventListener("DOMContentLoaded", update);
})();
