// Repeating groups: "add a row" without a round trip (the button also works without script).
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest("button.add-row");
  if (!btn) return;
  var group = btn.closest("fieldset.repeat");
  var tpl = group && group.querySelector(":scope > template.row-template");
  if (!tpl) return;
  ev.preventDefault();
  var next = parseInt(group.dataset.next || "0", 10);
  var html = tpl.innerHTML.split("__i__").join(String(next));
  group.dataset.next = String(next + 1);
  var holder = document.createElement("div");
  holder.innerHTML = html;
  var rows = group.querySelector(":scope > .rows");
  while (holder.firstChild) rows.appendChild(holder.firstChild);
});
