// The case diagram: bpmn-js viewer, completed / active / overdue elements marked. It opens at a
// readable scale centred on the current step (fit-to-width shrinks long processes to illegible
// boxes); buttons zoom in, out, fit and back to the current step, and the canvas pans by dragging.
(function () {
  var holder = document.getElementById("diagram");
  var dataEl = document.getElementById("diagram-data");
  if (!holder || !dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  var tools = document.getElementById("diagram-tools");
  if (!data.xml) { holder.textContent = "无流程图"; holder.dataset.state = "empty"; return; }
  if (typeof BpmnJS === "undefined") {
    holder.textContent = "流程图组件未安装（请运行 make setup / npm ci）。";
    holder.dataset.state = "missing";
    return;
  }
  var READABLE = 1.0, STEP = 1.25, MIN = 0.2, MAX = 4;
  var viewer = new BpmnJS({ container: holder });
  viewer.importXML(data.xml).then(function () {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    function mark(ids, cls) {
      ids.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, cls); });
    }
    mark(data.completed, "completed");
    mark(data.active, "active");
    mark(data.overdue, "overdue");

    function report() { holder.dataset.zoom = canvas.zoom().toFixed(2); }
    function zoomBy(factor) {
      var level = Math.min(MAX, Math.max(MIN, canvas.zoom() * factor));
      canvas.zoom(level, "auto");
      report();
    }
    function fit() { canvas.zoom("fit-viewport", "auto"); report(); }
    function focusCurrent() {
      var current = data.overdue.concat(data.active).map(function (id) { return registry.get(id); })
        .filter(function (e) { return e && e.width !== undefined; });
      if (!current.length) { fit(); return; }
      var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      current.forEach(function (e) {
        minX = Math.min(minX, e.x); minY = Math.min(minY, e.y);
        maxX = Math.max(maxX, e.x + e.width); maxY = Math.max(maxY, e.y + e.height);
      });
      canvas.zoom(READABLE);
      var box = canvas.viewbox();
      canvas.viewbox({ x: (minX + maxX) / 2 - box.width / 2, y: (minY + maxY) / 2 - box.height / 2,
                       width: box.width, height: box.height });
      report();
    }
    if (tools) {
      tools.hidden = false;
      tools.addEventListener("click", function (ev) {
        var button = ev.target.closest("button[data-zoom]");
        if (!button) return;
        var what = button.dataset.zoom;
        if (what === "in") zoomBy(STEP);
        else if (what === "out") zoomBy(1 / STEP);
        else if (what === "fit") fit();
        else focusCurrent();
      });
    }
    // Drag to pan, mouse or finger. (The navigated viewer's own panning waits for the canvas to
    // have keyboard focus, so a first drag did nothing; the wheel is left to scroll the page.)
    var drag = null;
    holder.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX, y: ev.clientY, id: ev.pointerId };
      holder.setPointerCapture(ev.pointerId);
      holder.classList.add("panning");
    });
    holder.addEventListener("pointermove", function (ev) {
      if (!drag || ev.pointerId !== drag.id) return;
      canvas.scroll({ dx: ev.clientX - drag.x, dy: ev.clientY - drag.y });
      drag.x = ev.clientX; drag.y = ev.clientY;
      ev.preventDefault();
    });
    function endDrag(ev) {
      if (!drag || ev.pointerId !== drag.id) return;
      drag = null;
      holder.classList.remove("panning");
    }
    holder.addEventListener("pointerup", endDrag);
    holder.addEventListener("pointercancel", endDrag);
    focusCurrent();
    holder.dataset.state = "ready";
  }).catch(function (err) {
    // bpmn-js speaks English; a definition without layout (no BPMNDiagram) is the usual cause.
    holder.textContent = /no diagram/i.test(err.message || "")
      ? "此流程定义没有图形布局，无法绘制流程图（不影响办理）。"
      : "流程图无法显示（不影响办理），请联系系统管理员。";
    holder.dataset.state = "error";
  });
})();
