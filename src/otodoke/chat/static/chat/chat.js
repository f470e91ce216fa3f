// The chat page: keep the timeline scrolled to the newest message (after each poll too),
// and fill the reply box from a saved reply (<button data-fill-reply="text">).
(function () {
  "use strict";
  var stick = true;
  function bottom() {
    var box = document.getElementById("chat-timeline");
    if (box && stick) box.scrollTop = box.scrollHeight;
  }
  document.addEventListener("DOMContentLoaded", bottom);
  document.addEventListener("htmx:beforeSwap", function (event) {
    var box = document.getElementById("chat-timeline");
    if (box && event.target === box) stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 30;
  });
  document.addEventListener("htmx:afterSettle", bottom);
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-fill-reply]") : null;
    if (!button) return;
    var box = document.getElementById("reply-text");
    if (box) { box.value = button.getAttribute("data-fill-reply"); box.focus(); }
  });
})();
