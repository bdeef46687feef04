// The top bar's search box (templates/base.html): "/" focuses it from anywhere on the page,
// unless the user is already typing in a field (then "/" is just a character) or the page has
// its own "/" (the support queue's filters, static/js/queue.js): this listener sits on window,
// so it hears the key after the page's listeners on document and leaves a handled key alone.
// Escape in the box gives the focus back to the page. No framework; without JavaScript the
// box still works.
(function () {
  "use strict";
  var box = document.getElementById("topbar-q");
  if (!box) return;

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return (
      tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable
    );
  }

  window.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.defaultPrevented || typing(event.target)) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  box.addEventListener("keydown", function (event) {
    if (event.key === "Escape") box.blur();
  });
})();
