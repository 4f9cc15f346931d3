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
