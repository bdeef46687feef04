// The order lines of the log form: shown for an order, a row added from the <template>, the
// price and cost filled from the chosen offering (data-price / data-cost, present only for
// those who may see money), and the line and order totals kept live. Without JavaScript the
// form still posts its one row; the server checks everything again.
(function () {
  "use strict";
  var fieldset = document.getElementById("order-lines");
  if (!fieldset) return;
  var form = document.getElementById("log-form");
  var body = fieldset.querySelector("tbody");
  var template = document.getElementById("order-line-template");
  var total = fieldset.querySelector("input[name$='-TOTAL_FORMS']");
  var maxForms = fieldset.querySelector("input[name$='-MAX_NUM_FORMS']");
  var type = form.querySelector("select[name='type']");
  var currency = fieldset.dataset.currency || "EUR";
  var format = new Intl.NumberFormat(document.documentElement.lang || undefined, {
    style: "currency",
    currency: currency
  });

  function number(input) {
    if (!input || input.value === "") return null;
    var value = parseFloat(input.value);
    return isNaN(value) ? null : value;
  }

  function chosen(row) {
    var select = row.querySelector("select");
    return select && select.selectedIndex >= 0 ? select.options[select.selectedIndex] : null;
  }

  function lineTotal(row) {
    var option = chosen(row);
    if (!option || !option.value) return null;
    var quantity = number(row.querySelector(".qty"));
    var price = number(row.querySelector(".price"));
    if (price === null && option.dataset.price) price = parseFloat(option.dataset.price);
    var discount = number(row.querySelector(".discount")) || 0;
    if (quantity === null || price === null) return null;
    return quantity * price * (1 - discount / 100);
  }

  function refresh() {
    var sum = 0;
    var any = false;
    body.querySelectorAll("tr.order-line").forEach(function (row) {
      var cell = row.querySelector(".line-total");
      var value = lineTotal(row);
      if (cell) cell.textContent = value === null ? "—" : format.format(value);
      if (value !== null) {
        sum += value;
        any = true;
      }
    });
    var cell = document.getElementById("order-total");
    if (cell) cell.textContent = any ? format.format(sum) : "—";
  }

  function defaults(row) {
    // A new offering chosen: its list price and cost as the line's, unless typed over.
    var option = chosen(row);
    ["price", "cost"].forEach(function (name) {
      var input = row.querySelector("." + name);
      if (!input || !option) return;
      if (input.value === "" || input.dataset.filled === "yes") {
        input.value = option.dataset[name] || "";
        input.dataset.filled = "yes";
      }
    });
  }

  function showForType() {
    fieldset.hidden = type && type.value !== "order";
  }

  body.addEventListener("change", function (event) {
    var row = event.target.closest("tr.order-line");
    if (event.target.tagName === "SELECT") defaults(row);
    refresh();
  });
  body.addEventListener("input", function (event) {
    if (event.target.classList.contains("price") || event.target.classList.contains("cost")) {
      event.target.dataset.filled = "no";
    }
    refresh();
  });
  body.addEventListener("click", function (event) {
    if (!event.target.classList.contains("remove-line")) return;
    var row = event.target.closest("tr.order-line");
    // Emptied rather than removed, so the form numbering stays as Django expects; an empty
    // row is not a line.
    row.querySelectorAll("input, select").forEach(function (input) {
      input.value = input.classList.contains("qty") ? "1" : "";
    });
    if (body.querySelectorAll("tr.order-line").length > 1) row.hidden = true;
    refresh();
  });
  document.getElementById("add-line").addEventListener("click", function () {
    var count = parseInt(total.value, 10);
    if (maxForms && count >= parseInt(maxForms.value, 10)) return;
    var html = template.innerHTML.replace(/__prefix__/g, String(count));
    body.insertAdjacentHTML("beforeend", html);
    total.value = String(count + 1);
    var select = body.lastElementChild.querySelector("select");
    if (select) select.focus();
  });
  if (type) type.addEventListener("change", showForType);
  showForType();
  refresh();
})();
