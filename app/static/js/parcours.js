// Parcours on every page (loaded by templates/base.html; the CSP forbids inline script).
// Progressive enhancement only: every page works without it.
(function () {
  "use strict";

  // Tables of `table_region` (templates/macros/ui.html): each cell gets its column header as
  // data-label, so that on a small screen a row reads as « label : value » lines (parcours.css).
  function labelTable(region) {
    var table = region.querySelector("table");
    if (!table) { return; }
    var headers = [];
    table.querySelectorAll("thead tr:first-child > th, thead tr:first-child > td").forEach(function (th) {
      var span = parseInt(th.getAttribute("colspan") || "1", 10);
      var text = (th.getAttribute("data-label") || th.textContent || "").replace(/\s+/g, " ").trim();
      for (var i = 0; i < span; i += 1) { headers.push(text); }
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.children, function (cell) {
        var span = parseInt(cell.getAttribute("colspan") || "1", 10);
        if (!cell.hasAttribute("data-label")) {
          // a cell spanning the whole row (« Aucun élément. ») needs no label
          cell.setAttribute("data-label", span >= headers.length ? "" : (headers[column] || ""));
        }
        column += span;
      });
    });
    region.classList.add("parcours-table--labelled");
  }

  // A refused form: its error summary lists the errors in the order of the fields on the page,
  // and takes the focus, so that a screen reader reads it and Tab leads to the first field.
  function focusErrorSummary() {
    var main = document.getElementById("contenu");
    if (!main || !main.querySelector("form")) { return; }
    var summary = main.querySelector("#erreurs-formulaire, .fr-alert--error[role='alert']");
    if (!summary) { return; }
    var list = summary.querySelector("ul");
    if (list) {
      var items = Array.prototype.slice.call(list.children);
      var position = function (item) {
        var link = item.querySelector("a[href^='#']");
        var field = link && document.getElementById(link.getAttribute("href").slice(1));
        return field;
      };
      items.sort(function (a, b) {
        var fa = position(a), fb = position(b);
        if (!fa || !fb || fa === fb) { return 0; }
        return fa.compareDocumentPosition(fb) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
      });
      items.forEach(function (item) { list.appendChild(item); });
    }
    if (!summary.hasAttribute("tabindex")) { summary.setAttribute("tabindex", "-1"); }
    summary.focus();
  }

  // Printing a record: each tab panel is printed under the name of its tab (parcours.css).
  function titlePanels() {
    document.querySelectorAll(".fr-tabs__panel[aria-labelledby]").forEach(function (panel) {
      var tab = document.getElementById(panel.getAttribute("aria-labelledby"));
      if (tab) { panel.setAttribute("data-print-title", tab.textContent.replace(/\s+/g, " ").trim()); }
    });
  }

  function ready() {
    document.querySelectorAll(".parcours-table--stack").forEach(labelTable);
    titlePanels();
    focusErrorSummary();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
