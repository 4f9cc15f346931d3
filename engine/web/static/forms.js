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

// Conditional fields: an element with data-when shows only while one of its alternatives holds
// (each alternative: all clauses true, or — with "not" — not all true). A clause names a field
// and the values it must have ("in") or that it must be filled ("present"). Without script every
// field stays shown with a note saying when it applies; the server ignores the others.
(function () {
  function currentValue(form, name) {
    var els = form.querySelectorAll('[name="' + name.replace(/"/g, '\\"') + '"]');
    var value = "";
    els.forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") { if (el.checked) value = el.value; }
      else if (el.type !== "file") value = el.value;
      else if (el.files && el.files.length) value = "file";
    });
    return value;
  }
  function holds(form, alt) {
    var all = (alt.all || []).every(function (c) {
      var v = currentValue(form, c.field);
      return c.present ? v.trim() !== "" : (c["in"] || []).indexOf(v) >= 0;
    });
    return alt.not ? !all : all;
  }
  function refresh(form) {
    form.querySelectorAll("[data-when]").forEach(function (el) {
      var alts;
      try { alts = JSON.parse(el.getAttribute("data-when")); } catch (e) { return; }
      el.hidden = !alts.some(function (a) { return holds(form, a); });
    });
  }
  function init() {
    document.querySelectorAll("form#task-form").forEach(function (form) {
      form.classList.add("js-conditions");
      refresh(form);
      form.addEventListener("change", function () { refresh(form); });
      form.addEventListener("input", function () { refresh(form); });
      form.addEventListener("click", function (ev) {
        if (ev.target.closest("button.add-row")) setTimeout(function () { refresh(form); }, 0);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
