// 城管通 console: small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // A form is sent once: a double click must not submit an action twice.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.dataset.sent) { ev.preventDefault(); return; }
    form.dataset.sent = "1";
    Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) {
      b.disabled = true;
    });
  });
  // Filter menus apply as soon as they change.
  var filters = document.getElementById("filters");
  if (filters) {
    Array.prototype.forEach.call(filters.querySelectorAll("select"), function (sel) {
      sel.addEventListener("change", function () { filters.submit(); });
    });
  }
})();
// Coming back with the browser's Back button shows a page from the cache: let it be used again.
window.addEventListener("pageshow", function (ev) {
  if (!ev.persisted) { return; }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-sent]"), function (form) {
    delete form.dataset.sent;
    Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) {
      b.disabled = false;
    });
  });
});
// The printable bulletin's "print" button (no inline script: the pages' CSP forbids it).
Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
  button.addEventListener("click", function () { window.print(); });
});
