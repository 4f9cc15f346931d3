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
