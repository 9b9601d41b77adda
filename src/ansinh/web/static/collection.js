// Collection pages: the print button of a bill and the arrears charts.
// No inline scripts (the Content-Security-Policy forbids them); chart data come from <script type="application/json">.
(() => {
  function readJson(id) {
    const block = document.getElementById(id);
    return block ? JSON.parse(block.textContent) : null;
  }

  const COLORS = ["#e53935", "#fb8c00", "#8e24aa", "#1e88e5", "#43a047", "#00897b"];

  function arrearsCharts() {
    if (!window.Chart) return;
    const provinces = readJson("arrears-province-data");
    const provinceCanvas = document.getElementById("arrears-province-chart");
    if (provinces && provinceCanvas) {
      new window.Chart(provinceCanvas, {
        type: "bar",
        data: {
          labels: provinces.labels,
          datasets: provinces.datasets.map((set, i) => ({ label: set.label, data: set.data, backgroundColor: COLORS[i] })),
        },
        options: {
          animation: false, maintainAspectRatio: false, indexAxis: provinces.labels.length > 8 ? "y" : "x",
          scales: { x: { beginAtZero: true, stacked: true }, y: { beginAtZero: true, stacked: true } },
        },
      });
    }
    const ages = readJson("arrears-age-data");
    const ageCanvas = document.getElementById("arrears-age-chart");
    if (ages && ageCanvas) {
      new window.Chart(ageCanvas, {
        type: "doughnut",
        data: { labels: ages.labels, datasets: [{ label: ages.label, data: ages.data, backgroundColor: ["#fdd835", "#fb8c00", "#e53935"] }] },
        options: { animation: false, maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
      });
    }
  }

  function trendChart() {
    const trend = readJson("arrears-trend-data");
    const canvas = document.getElementById("arrears-trend-chart");
    if (!window.Chart || !trend || !canvas) return;
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: trend.labels,
        datasets: trend.datasets.map((set, i) => ({ label: set.label, data: set.data, borderColor: COLORS[i], backgroundColor: COLORS[i], tension: 0.2 })),
      },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
    });
  }

  function printButtons() {
    document.querySelectorAll(".print-button").forEach((button) => {
      button.addEventListener("click", () => window.print());
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    printButtons();
    arrearsCharts();
    trendChart();
  });
})();
