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
