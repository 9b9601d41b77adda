// Participation pages: live validation marks of the declaration form, and the summary charts.
// No inline scripts (the Content-Security-Policy forbids them); chart data come from <script type="application/json">.
(() => {
  function markFields(form) {
    const check = form.querySelector(".declaration-check");
    const failing = new Set(((check && check.dataset.errorFields) || "").split(" ").filter(Boolean));
    form.querySelectorAll("[data-field]").forEach((field) => {
      if (failing.has(field.dataset.field)) field.setAttribute("aria-invalid", "true");
      else if (check) field.removeAttribute("aria-invalid");
    });
  }

  function declarationForm() {
    const form = document.getElementById("declaration-form");
    if (!form) return;
    const kind = form.querySelector("select[name=kind]");
    const toggle = () => {
      const leaving = kind.value === "leave";
      form.querySelectorAll(".salary-field, .group-field").forEach((el) => { el.hidden = leaving; });
    };
    kind.addEventListener("change", toggle);
    toggle();
    document.body.addEventListener("htmx:afterSwap", (event) => {
      if (event.detail.target && event.detail.target.id === "declaration-check") markFields(form);
    });
  }

  function readJson(id) {
    const block = document.getElementById(id);
    return block ? JSON.parse(block.textContent) : null;
  }

  const COLORS = ["#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#e53935", "#00897b", "#6d4c41", "#3949ab",
                  "#c0ca33", "#d81b60", "#546e7a", "#fdd835", "#5e35b1"];

  function summaryCharts() {
    if (!window.Chart) return;
    const provinces = readJson("province-data");
    const provinceCanvas = document.getElementById("province-chart");
    if (provinces && provinceCanvas) {
      new window.Chart(provinceCanvas, {
        type: "bar",
        data: {
          labels: provinces.labels,
          datasets: provinces.datasets.map((set, i) => ({ label: set.label, data: set.data, backgroundColor: COLORS[i] })),
        },
        options: {
          animation: false, maintainAspectRatio: false, indexAxis: provinces.labels.length > 8 ? "y" : "x",
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
    }
    const groups = readJson("group-data");
    const groupCanvas = document.getElementById("group-chart");
    if (groups && groupCanvas) {
      new window.Chart(groupCanvas, {
        type: "doughnut",
        data: { labels: groups.labels, datasets: [{ label: groups.label, data: groups.data, backgroundColor: COLORS }] },
        options: { animation: false, maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    declarationForm();
    summaryCharts();
  });
})();
