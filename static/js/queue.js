// Support queue keyboard: j/k move, o opens "what we know", t takes, r answers (opens the
// conversation's reply box), e resolves,
// / goes to the filters.
// Without JavaScript the queue still works: the buttons are plain form posts and links.
(function () {
  "use strict";
  var ITEM = ".queue-item";

  function items() { return Array.prototype.slice.call(document.querySelectorAll(ITEM)); }
  function current() { return document.activeElement && document.activeElement.closest(ITEM); }

  function move(step) {
    var all = items();
    if (!all.length) return;
    var at = all.indexOf(current());
    var next = at < 0 ? 0 : Math.max(0, Math.min(all.length - 1, at + step));
    all[next].focus();
    all[next].scrollIntoView({ block: "nearest" });
  }

  function press(item, action) {
    var button = item && item.querySelector('[data-action="' + action + '"]');
    if (button) button.click();
  }

  function restoreFocus(queue, previousIndex) {
    var wanted = queue.getAttribute("data-focus");
    var target = wanted && queue.querySelector(ITEM + '[data-id="' + wanted + '"]');
    var all = items();
    if (!target && all.length) target = all[Math.min(previousIndex, all.length - 1)];
    if (target) target.focus();
  }

  var lastIndex = 0;
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea")) {
      if (event.key === "Escape") { event.target.blur(); move(0); }
      return;
    }
    var item = current();
    if (item) lastIndex = items().indexOf(item);
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "t": press(item, "take"); break;
      case "r": press(item, "answer"); break;
      case "e": press(item, "resolve"); break;
      case "o":
        if (!item) return;
        var details = item.querySelector("details");
        details.open = !details.open;
        break;
      case "/":
        var filter = document.querySelector(".filters select");
        if (filter) filter.focus();
        break;
      default: return;
    }
    event.preventDefault();
  });

  // After settle, not after swap: htmx wires up the new forms while settling, and a key
  // pressed before that would submit the form without htmx.
  document.addEventListener("htmx:afterSettle", function () {
    var queue = document.getElementById("queue");
    if (queue) restoreFocus(queue, lastIndex);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var help = document.getElementById("queue-help");
    if (help) help.hidden = false; // the keys work only with JavaScript
    var queue = document.getElementById("queue");
    if (queue && !document.activeElement.closest("form")) restoreFocus(queue, 0);
  });
})();
