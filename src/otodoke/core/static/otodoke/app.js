// Otodoke's page behaviour. It lives in this file, not in inline handlers, so the
// Content-Security-Policy can forbid every inline script. Controls say what they do with
// data attributes; listeners are delegated from the document, so content htmx swaps in works
// without binding anything again.
(function () {
  "use strict";

  // A form whose submit needs a confirmation: <form data-confirm="Delete this segment?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("change", function (event) {
    var control = event.target;
    if (!(control instanceof HTMLElement)) return;
    // <select data-navigate>: go to the chosen option's address (the workspace switcher).
    if (control.matches("select[data-navigate]") && control.value) {
      window.location.assign(control.value);
    }
    // <select data-autosubmit>: submit the form on change ("request" goes through the
    // form's submit event, so htmx and data-confirm see it; otherwise a plain submit).
    if (control.matches("[data-autosubmit]") && control.form) {
      if (control.dataset.autosubmit === "request") control.form.requestSubmit();
      else control.form.submit();
    }
  });

  document.addEventListener("click", function (event) {
    var control = event.target;
    if (!(control instanceof HTMLElement)) return;
    // <input type=checkbox data-select-all="SELECTOR">: tick or untick every box it names.
    if (control instanceof HTMLInputElement && control.dataset.selectAll) {
      document.querySelectorAll(control.dataset.selectAll).forEach(function (box) {
        box.checked = control.checked;
      });
    }
    // <input data-select-on-click>: select the whole value, ready to copy.
    if (control instanceof HTMLInputElement && control.hasAttribute("data-select-on-click")) {
      control.select();
    }
  });

  // The placeholder picker: <button data-insert="{{ name }}"> inserts at the cursor of the
  // text box last used (else the first textarea[data-placeholder-target]).
  var lastBox = null;
  document.addEventListener("focusin", function (event) {
    if ((event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement) && event.target.matches("[data-placeholder-target]")) {
      lastBox = event.target;
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-insert]") : null;
    if (!button) return;
    var box = lastBox && document.contains(lastBox) ? lastBox : document.querySelector("textarea[data-placeholder-target]");
    if (!box) return;
    var code = button.getAttribute("data-insert"), at = box.selectionStart, end = box.selectionEnd;
    box.value = box.value.slice(0, at) + code + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = at + code.length;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // Per-element work on the page and on every piece of content htmx swaps in.
  function prepare(root) {
    // Bar widths and colour keys from data attributes: set through the DOM, which the
    // policy allows, where a style="" attribute would be refused.
    root.querySelectorAll("[data-width]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, Number(el.dataset.width) || 0)) + "%";
    });
    root.querySelectorAll("[data-colour]").forEach(function (el) {
      el.style.backgroundColor = el.dataset.colour;
    });
    // <textarea data-stop-change>: its change must not reach the enclosing form's htmx
    // trigger (the segment builder's JSON box); stopped on the element itself, before it
    // bubbles to the form.
    root.querySelectorAll("[data-stop-change]").forEach(function (el) {
      if (el.dataset.stopChangeBound) return;
      el.dataset.stopChangeBound = "1";
      el.addEventListener("change", function (event) { event.stopPropagation(); });
    });
  }

  if (window.htmx) {
    window.htmx.onLoad(function (element) { prepare(element.parentNode || document); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { prepare(document); });
  }
})();
