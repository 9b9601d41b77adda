// Card pages: the lookup form's error marks after an htmx answer, and the charts of the lookup figures.
// No inline scripts (the Content-Security-Policy forbids them); chart data come from <script type="application/json">.
(() => {
  function markFields(form, box) {
    const answer = box.querySelector("[data-error-fields]");
    const failing = new Set(((answer && answer.dataset.errorFields) || "").split(" ").filter(Boolean));
    form.querySelectorAll("[data-field]").forEach((field) => {
      if (failing.has(field.dataset.field)) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    });
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  function lookupForm() {
    const form = document.getElementById("lookup-form");
    if (!form) return;
    document.body.addEventListener("htmx:afterSwap", (event) => {
      const box = event.detail.target;
      if (box && box.id === "lookup-result") markFields(form, box);
    });
  }

  function readJson(id) {
    const block = document.getElementById(id);
    return block ? JSON.parse(block.textContent) : null;
  }

  const COLORS = ["#1e88e5", "#43a047"];

  function barChart(canvasId, dataId) {
    const data = readJson(dataId);
    const canvas = document.getElementById(canvasId);
    if (!window.Chart || !data || !canvas) return;
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map((set, i) => ({ label: set.label, data: set.data, backgroundColor: COLORS[i % COLORS.length] })),
      },
      options: {
        animation: false, maintainAspectRatio: false, indexAxis: data.labels.length > 8 ? "y" : "x",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    lookupForm();
    barChart("kpi-month-chart", "kpi-month-data");
    barChart("kpi-key-chart", "kpi-key-data");
  });
})();
