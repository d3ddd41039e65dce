// Sentinel's only hand-written script: theme and navigation drawer.
// Loaded in <head> without defer so the saved theme applies before first paint.
(function () {
  "use strict";
  var KEY = "sentinel-theme";
  var root = document.documentElement;

  function preferred() {
    try {
      var saved = localStorage.getItem(KEY);
      if (saved === "dark" || saved === "light") return saved;
    } catch (e) { /* storage disabled: fall back to the system preference */ }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function apply(theme) {
    root.setAttribute("data-theme", theme);
    var btn = document.getElementById("theme-toggle");
    if (btn) {
      btn.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
      btn.setAttribute("title", theme === "dark" ? "Switch to light theme" : "Switch to dark theme");
    }
  }

  apply(preferred());

  document.addEventListener("DOMContentLoaded", function () {
    apply(preferred());
    document.addEventListener("click", function (ev) {
      var t = ev.target.closest ? ev.target.closest("[data-action]") : null;
      if (!t) return;
      var action = t.getAttribute("data-action");
      if (action === "toggle-theme") {
        var next = root.getAttribute("data-theme") === "dark" ? "light" : "dark";
        try { localStorage.setItem(KEY, next); } catch (e) { /* not persisted */ }
        apply(next);
      } else if (action === "open-nav") {
        document.body.classList.add("nav-open");
      } else if (action === "close-nav") {
        document.body.classList.remove("nav-open");
      }
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") document.body.classList.remove("nav-open");
    });
  });
})();
