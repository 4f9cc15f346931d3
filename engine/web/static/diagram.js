// The case diagram: bpmn-js viewer, completed / active / overdue elements marked.
(function () {
  var holder = document.getElementById("diagram");
  var dataEl = document.getElementById("diagram-data");
  if (!holder || !dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  if (!data.xml) { holder.textContent = "无流程图"; holder.dataset.state = "empty"; return; }
  if (typeof BpmnJS === "undefined") {
    holder.textContent = "流程图组件未安装（请运行 make setup / npm ci）。";
    holder.dataset.state = "missing";
    return;
  }
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
    canvas.zoom("fit-viewport");
    holder.dataset.state = "ready";
  }).catch(function (err) {
    holder.textContent = "流程图无法显示：" + err.message;
    holder.dataset.state = "error";
  });
})();
