// Behaviour that would otherwise sit in inline handlers, which the Content-Security-Policy forbids.
document.addEventListener("change", function (ev) {
  var el = ev.target;
  if (el.matches("select[data-autosubmit]")) el.form.submit();
  else if (el.matches("select[data-go]") && el.value) location.href = el.dataset.go + encodeURIComponent(el.value);
});
document.addEventListener("click", function (ev) {
  var a = ev.target.closest("a[data-back]");
  if (a && history.length > 1) { ev.preventDefault(); history.back(); }
});
// Every page: on phones the stylesheet turns table rows into stacked cards; each cell then shows
// its column's heading, which this copies from the table head into the cell's data-label.
(function () {
  document.querySelectorAll("table").forEach(function (table) {
    var heads = table.querySelectorAll(":scope > thead > tr:first-child > th");
    if (!heads.length) return;
    var labels = Array.prototype.map.call(heads, function (th) { return th.textContent.trim(); });
    table.classList.add("stack");
    table.querySelectorAll(":scope > tbody > tr").forEach(function (tr) {
      var col = 0;
      Array.prototype.forEach.call(tr.children, function (cell) {
        if (!cell.hasAttribute("data-label") && labels[col]) cell.setAttribute("data-label", labels[col]);
        col += cell.colSpan || 1;
      });
    });
  });
})();
// Case page: a colleague's name under the comment box inserts "@username " where the cursor is
// (a mention is written with the username; people pick the name).
document.addEventListener("click", function (ev) {
  var b = ev.target.closest("button[data-mention]");
  var box = document.getElementById("comment-body");
  if (!b || !box) return;
  var text = "@" + b.getAttribute("data-mention") + " ";
  var at = box.selectionStart == null ? box.value.length : box.selectionStart;
  box.value = box.value.slice(0, at) + text + box.value.slice(box.selectionEnd == null ? at : box.selectionEnd);
  box.focus();
  box.selectionStart = box.selectionEnd = at + text.length;
});

// Background steps (case page): poll each job's progress and update its bar without reloading;
// when the step has run (or stopped with an incident) the page reloads to show what changed.
(function () {
  var bars = document.querySelectorAll("[data-job-progress]");
  if (!bars.length) return;
  function text(p) {
    if (p.status === "incident") return "执行失败，正在刷新页面…";
    if (!p.total) {
      if (p.attempts) return "第 " + p.attempts + " 次失败（" + (p.error || "") + "），稍后自动重试";
      return p.running ? "正在准备…" : "排队中，即将开始";
    }
    var s = "已完成 " + p.done + " / " + p.total + "（" + p.percent + "%）";
    if (p.eta_seconds !== null && p.eta_seconds !== undefined) {
      s += "，预计还需 " + (p.eta_seconds >= 90 ? Math.round(p.eta_seconds / 60) + " 分钟" : p.eta_seconds + " 秒");
    }
    return s;
  }
  function poll(el) {
    fetch(el.dataset.jobProgress, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { setTimeout(function () { poll(el); }, 5000); return; }
        var bar = el.querySelector("progress"), label = el.querySelector(".progress-text");
        if (p.total) { bar.max = p.total; bar.value = p.done; }
        label.textContent = text(p);
        if (p.status === "done" || p.status === "incident") {
          if (p.status === "done") { bar.max = 1; bar.value = 1; label.textContent = "已完成，正在刷新页面…"; }
          setTimeout(function () { location.reload(); }, 800);
          return;
        }
        setTimeout(function () { poll(el); }, 1500);
      })
      .catch(function () { setTimeout(function () { poll(el); }, 5000); });
  }
  bars.forEach(poll);
})();
