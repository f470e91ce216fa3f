// The visual editor of rich messages in the message slots (cards, coupons, imagemaps,
// templates): adding and removing cards, uploading images to Otodoke's image hosting, and
// drawing an imagemap's tap areas. No inline script (CSP): everything is delegated from the
// document and keyed on data attributes. The server builds the LINE JSON from the inputs.
(function () {
  "use strict";
  var BASE_WIDTH = 1040; // LINE's imagemap base width

  function changed(el) {
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function renumber(list) {
    list.querySelectorAll("[data-card]").forEach(function (card, i) {
      var n = card.querySelector("[data-card-number]");
      if (n) n.textContent = String(i + 1);
    });
  }

  function csrf(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setValue(form, name, value) {
    var input = form.querySelector('[name="' + name + '"]');
    if (input) { input.value = value; changed(input); }
  }

  function upload(input) {
    var file = input.files && input.files[0];
    var section = input.closest("[data-upload-url]");
    var box = input.closest(".image-input");
    var error = box && box.querySelector("[data-upload-error]");
    if (!file || !section) return;
    if (error) { error.hidden = true; error.textContent = ""; }
    var body = new FormData();
    body.append("file", file);
    input.dataset.uploading = "1";
    fetch(section.dataset.uploadUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(input.form) }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      delete input.dataset.uploading;
      if (!result.ok) {
        if (error) { error.textContent = result.data.error || "?"; error.hidden = false; }
        return;
      }
      var data = result.data, mode = input.dataset.upload, prefix = input.dataset.prefix;
      if (mode === "original") {
        var url = box.querySelector("[data-image-url]"), thumb = box.querySelector("[data-thumb]");
        url.value = data.original;
        if (thumb) { thumb.src = data.preview; thumb.hidden = false; }
        changed(url);
      } else if (mode === "image") {
        setValue(input.form, prefix + "-preview_url", data.preview);
        setValue(input.form, prefix + "-image_url", data.original);
      } else if (mode === "map") {
        var slot = input.closest(".kind-fields");
        var editor = slot.querySelector("[data-map-editor]");
        var image = slot.querySelector("[data-map-image]");
        editor.dataset.baseHeight = String(data.base_height);
        image.src = data.imagemap_base + "/1040";
        image.hidden = false;
        setValue(input.form, prefix + "-map_height", String(data.base_height));
        setValue(input.form, prefix + "-map_base", data.imagemap_base);
        drawAreas(editor);
      }
      input.value = "";
    }).catch(function () {
      delete input.dataset.uploading;
      if (error) { error.textContent = "Upload failed"; error.hidden = false; }
    });
  }

  // Areas are in LINE's base coordinates (1040 wide); drawn in percentages of the image.
  function drawAreas(editor) {
    var canvas = editor.querySelector("[data-map-canvas]");
    var height = Number(editor.dataset.baseHeight) || BASE_WIDTH;
    canvas.querySelectorAll(".map-area:not(.drawing)").forEach(function (el) { el.remove(); });
    editor.querySelectorAll("[data-area-list] [data-area]").forEach(function (row, i) {
      var box = document.createElement("div");
      box.className = "map-area";
      box.textContent = String(i + 1);
      box.style.left = (Number(row.querySelector("[data-area-x]").value) / BASE_WIDTH * 100) + "%";
      box.style.top = (Number(row.querySelector("[data-area-y]").value) / height * 100) + "%";
      box.style.width = (Number(row.querySelector("[data-area-w]").value) / BASE_WIDTH * 100) + "%";
      box.style.height = (Number(row.querySelector("[data-area-h]").value) / height * 100) + "%";
      canvas.appendChild(box);
    });
  }

  var drag = null;
  function point(canvas, event) {
    var r = canvas.getBoundingClientRect();
    return {
      x: Math.max(0, Math.min(r.width, event.clientX - r.left)),
      y: Math.max(0, Math.min(r.height, event.clientY - r.top)),
      w: r.width, h: r.height
    };
  }
  document.addEventListener("pointerdown", function (event) {
    var canvas = event.target instanceof Element ? event.target.closest("[data-map-canvas]") : null;
    if (!canvas || canvas.querySelector("[data-map-image]").hidden) return;
    event.preventDefault();
    var box = document.createElement("div");
    box.className = "map-area drawing";
    canvas.appendChild(box);
    drag = { canvas: canvas, start: point(canvas, event), box: box };
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    var p = point(drag.canvas, event), s = drag.start;
    drag.box.style.left = Math.min(s.x, p.x) + "px";
    drag.box.style.top = Math.min(s.y, p.y) + "px";
    drag.box.style.width = Math.abs(p.x - s.x) + "px";
    drag.box.style.height = Math.abs(p.y - s.y) + "px";
  });
  document.addEventListener("pointerup", function (event) {
    if (!drag) return;
    var current = drag;
    drag = null;
    current.box.remove();
    var p = point(current.canvas, event), s = current.start;
    var editor = current.canvas.closest("[data-map-editor]");
    var height = Number(editor.dataset.baseHeight) || BASE_WIDTH;
    var scaleX = BASE_WIDTH / p.w, scaleY = height / p.h;
    var x = Math.round(Math.min(s.x, p.x) * scaleX), y = Math.round(Math.min(s.y, p.y) * scaleY);
    var w = Math.round(Math.abs(p.x - s.x) * scaleX), h = Math.round(Math.abs(p.y - s.y) * scaleY);
    if (w < 10 || h < 10) return; // a click, not a drag
    var template = editor.querySelector("[data-area-template]");
    var row = template.content.firstElementChild.cloneNode(true);
    row.querySelector("[data-area-x]").value = x;
    row.querySelector("[data-area-y]").value = y;
    row.querySelector("[data-area-w]").value = w;
    row.querySelector("[data-area-h]").value = h;
    editor.querySelector("[data-area-list]").appendChild(row);
    drawAreas(editor);
    row.querySelector("[data-area-target]").focus();
    changed(row.querySelector("[data-area-x]"));
  });

  document.addEventListener("change", function (event) {
    if (event.target instanceof HTMLInputElement && event.target.type === "file" && event.target.dataset.upload) {
      event.stopPropagation(); // the preview waits for the uploaded URL
      upload(event.target);
    }
  }, true);

  document.addEventListener("click", function (event) {
    var el = event.target instanceof Element ? event.target : null;
    if (!el) return;
    var add = el.closest("[data-add-card]");
    if (add) {
      var list = add.parentElement.querySelector("[data-card-list]");
      var cards = list.querySelectorAll("[data-card]");
      if (cards.length >= Number(add.dataset.max || 12)) return;
      var copy = cards[cards.length - 1].cloneNode(true);
      copy.querySelectorAll("input, textarea").forEach(function (input) { input.value = ""; });
      copy.querySelectorAll("[data-thumb]").forEach(function (img) { img.hidden = true; img.removeAttribute("src"); });
      list.appendChild(copy);
      renumber(list);
      copy.querySelector("input[name$=card_title]").focus();
      return;
    }
    var remove = el.closest("[data-remove-card]");
    if (remove) {
      var holder = remove.closest("[data-card-list]");
      if (holder.querySelectorAll("[data-card]").length > 1) {
        remove.closest("[data-card]").remove();
        renumber(holder);
        changed(holder);
      }
      return;
    }
    var removeArea = el.closest("[data-remove-area]");
    if (removeArea) {
      var editor = removeArea.closest("[data-map-editor]");
      removeArea.closest("[data-area]").remove();
      drawAreas(editor);
      changed(editor);
      return;
    }
    // <button data-submit-with="apply_preset" value="1">: submit the form with that choice
    // (the server re-renders the page with the slot replaced; nothing is saved).
    var submit = el.closest("[data-submit-with]");
    if (submit && submit.form) {
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = submit.dataset.submitWith;
      hidden.value = submit.value;
      submit.form.appendChild(hidden);
      submit.form.submit();
    }
  });

  function prepare() {
    document.querySelectorAll("[data-map-editor]").forEach(drawAreas);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", prepare);
  else prepare();
})();
