// Charts of « Pilotage », drawn with Chart.js from the data attributes of each canvas.
// Each chart repeats a table printed just above it, which stays the accessible source.
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") { return; }
  document.querySelectorAll("canvas.parcours-chart").forEach(function (canvas) {
    var labels = JSON.parse(canvas.dataset.labels || "[]");
    var values = JSON.parse(canvas.dataset.values || "[]");
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: canvas.dataset.title || "", data: values, backgroundColor: "#000091" }] },
      options: {
        indexAxis: "y",
        animation: false,
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
  });
})();
