// The rich-menu editor: drag on the image to draw a tap area; each area is a row of the form
// (position and size in image pixels, what a tap does). Rows and rectangles stay in step both
// ways: typing a number moves the rectangle. No inline script anywhere (CSP): this file only.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var MIN = 20; // smaller drags are clicks, not areas

  function init() {
    var canvas = document.querySelector("[data-rm-canvas]");
    var rowsBox = document.querySelector("[data-rm-rows]");
    var template = document.querySelector("[data-rm-template]");
    if (!canvas || !rowsBox || !template) return;
    var layer = canvas.querySelector("[data-rm-rects]");
    var box = canvas.viewBox.baseVal;

    function toImage(event) {
      var point = canvas.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      var p = point.matrixTransform(canvas.getScreenCTM().inverse());
      return {
        x: Math.round(Math.min(Math.max(p.x, 0), box.width)),
        y: Math.round(Math.min(Math.max(p.y, 0), box.height)),
      };
    }

    function field(row, name) {
      return row.querySelector('[name="' + name + '"]');
    }

    function showFields(row) {
      var kind = field(row, "type").value;
      row.querySelectorAll("[data-rm-for]").forEach(function (part) {
        part.hidden = part.getAttribute("data-rm-for").split(" ").indexOf(kind) < 0;
      });
    }

    function redraw() {
      while (layer.firstChild) layer.removeChild(layer.firstChild);
      rowsBox.querySelectorAll("[data-rm-row]").forEach(function (row, index) {
        row.querySelector("[data-rm-number]").textContent = String(index + 1);
        var x = +field(row, "x").value, y = +field(row, "y").value;
        var w = +field(row, "width").value, h = +field(row, "height").value;
        var rect = document.createElementNS(SVG, "rect");
        rect.setAttribute("class", "rm-area");
        rect.setAttribute("x", x);
        rect.setAttribute("y", y);
        rect.setAttribute("width", Math.max(w, 1));
        rect.setAttribute("height", Math.max(h, 1));
        layer.appendChild(rect);
        var label = document.createElementNS(SVG, "text");
        label.setAttribute("x", x + 30);
        label.setAttribute("y", y + 110);
        label.textContent = String(index + 1);
        layer.appendChild(label);
      });
    }

    function wire(row) {
      row.addEventListener("input", redraw);
      field(row, "type").addEventListener("change", function () { showFields(row); });
      row.querySelector("[data-rm-remove]").addEventListener("click", function () {
        row.remove();
        redraw();
      });
      showFields(row);
    }

    function addRow(area) {
      var row = template.content.firstElementChild.cloneNode(true);
      ["x", "y", "width", "height"].forEach(function (k) { field(row, k).value = area[k]; });
      rowsBox.appendChild(row);
      wire(row);
      redraw();
      field(row, "value").focus();
    }

    var start = null, ghost = null;
    canvas.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      start = toImage(event);
      ghost = document.createElementNS(SVG, "rect");
      ghost.setAttribute("class", "rm-area drawing");
      layer.appendChild(ghost);
      canvas.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!start) return;
      var p = toImage(event);
      ghost.setAttribute("x", Math.min(start.x, p.x));
      ghost.setAttribute("y", Math.min(start.y, p.y));
      ghost.setAttribute("width", Math.abs(p.x - start.x));
      ghost.setAttribute("height", Math.abs(p.y - start.y));
    });
    canvas.addEventListener("pointerup", function (event) {
      if (!start) return;
      var p = toImage(event);
      var area = {
        x: Math.min(start.x, p.x), y: Math.min(start.y, p.y),
        width: Math.abs(p.x - start.x), height: Math.abs(p.y - start.y),
      };
      start = null;
      if (ghost) ghost.remove();
      ghost = null;
      if (area.width >= MIN && area.height >= MIN) addRow(area);
    });

    rowsBox.querySelectorAll("[data-rm-row]").forEach(wire);
    redraw();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
