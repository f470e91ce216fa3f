// The send step's placeholder picker: insert at the cursor of the text box last used (else the
// first). A static file, not an inline script, so the pages work under a strict CSP.
(function () {
  var last = null;
  document.addEventListener("focusin", function (e) {
    if (e.target.matches("textarea[data-placeholder-target]")) last = e.target;
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-insert]");
    if (!button) return;
    var box = last || document.querySelector("textarea[data-placeholder-target]");
    if (!box) return;
    var code = button.getAttribute("data-insert"), at = box.selectionStart, end = box.selectionEnd;
    box.value = box.value.slice(0, at) + code + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = at + code.length;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
