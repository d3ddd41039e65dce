// Sentinel's only hand-written script: theme, navigation drawer, and the
// mounting of server-built ECharts options.
// Loaded in <head> without defer so the saved theme applies before first paint.
(function () {
  "use strict";
  var KEY = "sentinel-theme";
  var root = document.documentElement;
  // The stylesheet shows a chart's text fallback instead of the chart when
  // this class is missing (no JavaScript).
  root.classList.add("js");

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

  // Chart options come from the server with colours as theme tokens
  // ("var(--color-danger)"); resolve them from the live stylesheet.
  function resolve(v) {
    if (typeof v === "string" && v.indexOf("var(--") === 0) {
      return getComputedStyle(root).getPropertyValue(v.slice(4, -1)).trim() || v;
    }
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === "object") {
      var out = {};
      Object.keys(v).forEach(function (k) { out[k] = resolve(v[k]); });
      return out;
    }
    return v;
  }

  // ECharts is over a megabyte, so the layout does not load it: the first
  // chart on a page names its hashed URL in data-echarts-src and the library
  // is loaded then, once, as a same-origin script (the CSP allows 'self').
  var waiting = null;
  function withECharts(src, then) {
    if (window.echarts) { then(); return; }
    if (waiting) { waiting.push(then); return; }
    waiting = [then];
    var s = document.createElement("script");
    s.src = src;
    s.onload = function () {
      var queued = waiting;
      waiting = null;
      queued.forEach(function (fn) { fn(); });
    };
    s.onerror = function () { waiting = null; root.classList.remove("js"); };
    document.head.appendChild(s);
  }

  function mountCharts(scope) {
    var els = (scope || document).querySelectorAll("[data-echarts]");
    if (!els.length) return;
    if (!window.echarts) {
      withECharts(els[0].getAttribute("data-echarts-src"), function () { mountCharts(scope); });
      return;
    }
    els.forEach(function (el) {
      // A map chart names its geometry (a same-origin asset): fetched and
      // registered once, then the chart is drawn.
      var map = el.getAttribute("data-echarts-map");
      if (map && !window.echarts.getMap(map)) {
        fetch(el.getAttribute("data-echarts-map-src"), { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (geo) {
            if (!window.echarts.getMap(map)) window.echarts.registerMap(map, geo);
            mountChart(el);
          });
        return;
      }
      mountChart(el);
    });
  }

  // chartTheme gives every chart the theme's text, axis and grid colours,
  // so that labels stay readable on the dark theme too (ECharts' own are
  // grey for a light page).
  function chartTheme() {
    var text = resolve("var(--color-text)"), muted = resolve("var(--color-text-muted)"), border = resolve("var(--color-border)");
    var axis = {
      axisLine: { lineStyle: { color: border } }, axisTick: { lineStyle: { color: border } },
      axisLabel: { color: muted }, nameTextStyle: { color: muted }, splitLine: { lineStyle: { color: [border] } }
    };
    return {
      textStyle: { color: text }, legend: { textStyle: { color: muted } }, visualMap: { textStyle: { color: muted } },
      categoryAxis: axis, valueAxis: axis, logAxis: axis, timeAxis: axis
    };
  }

  function mountChart(el) {
    {
      if (el._chart) el._chart.dispose();
      el._chart = window.echarts.init(el, chartTheme(), { renderer: "canvas" });
      el._chart.setOption(resolve(JSON.parse(el.getAttribute("data-echarts"))));
      // A data item that names a page of this site (a graph's node) opens
      // it when clicked.
      el._chart.on("click", function (p) {
        var href = p.data && p.data.href;
        if (typeof href === "string" && href.charAt(0) === "/" && href.charAt(1) !== "/") window.location.assign(href);
      });
    }
  }

  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-echarts]").forEach(function (el) {
      // A graph cannot lay itself out in no room (ECharts throws): a chart
      // that has none for the moment keeps its last size.
      if (el._chart && el.clientWidth > 0 && el.clientHeight > 0) el._chart.resize();
    });
  });
  document.addEventListener("htmx:afterSwap", function (ev) { mountCharts(ev.target); });
  // Pollers marked data-poll (the live ticker, the replay panel) pause
  // while the tab is hidden: their requests are cancelled, not sent. (The
  // trigger filter "[!document.hidden]" would need htmx's eval, which the
  // CSP and the htmx config keep off.)
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (document.hidden && elt && elt.hasAttribute && elt.hasAttribute("data-poll")) ev.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    apply(preferred());
    mountCharts();
    document.addEventListener("click", function (ev) {
      // A click anywhere on a linked table row opens it, as its link would.
      var row = ev.target.closest ? ev.target.closest("tr[data-href]") : null;
      if (row && !ev.target.closest("a, button, input, label")) {
        window.location.assign(row.getAttribute("data-href"));
        return;
      }
      var t = ev.target.closest ? ev.target.closest("[data-action]") : null;
      if (!t) return;
      var action = t.getAttribute("data-action");
      if (action === "toggle-theme") {
        var next = root.getAttribute("data-theme") === "dark" ? "light" : "dark";
        try { localStorage.setItem(KEY, next); } catch (e) { /* not persisted */ }
        apply(next);
        mountCharts();
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
