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
