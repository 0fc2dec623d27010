/* Page behaviour without inline script (the Content-Security-Policy allows scripts
 * from /static only).  Everything is declared in the markup with data attributes and
 * handled here by delegation, so content swapped in by htmx works too:
 *   data-confirm="…"        on a button (click) or a form (submit): ask first
 *   data-check-all="sel"    on a checkbox: tick / untick every box matching sel
 *   data-autosubmit         on a select or input: submit its form on change
 *   data-replace-url="/…"   on any element: show this URL in the address bar
 */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && el.tagName !== "FORM" && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-confirm") &&
        !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute("data-check-all")) {
      document.querySelectorAll(el.getAttribute("data-check-all")).forEach(function (box) {
        box.checked = el.checked;
      });
    } else if (el.hasAttribute("data-autosubmit") && el.form) {
      el.form.submit();
    }
  });

  function replaceUrl(root) {
    (root || document).querySelectorAll("[data-replace-url]").forEach(function (el) {
      history.replaceState(null, "", el.getAttribute("data-replace-url"));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { replaceUrl(document); });
  document.addEventListener("htmx:afterSwap", function (event) { replaceUrl(event.target); });
})();
