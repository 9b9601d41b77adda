// ansinh front-end glue. No inline scripts (the Content-Security-Policy forbids them).
document.addEventListener("DOMContentLoaded", () => {
  // htmx requests carry the session's CSRF token.
  const csrf = document.querySelector('meta[name="csrf-token"]');
  document.body.addEventListener("htmx:configRequest", (event) => {
    if (csrf && csrf.content) event.detail.headers["X-CSRF-Token"] = csrf.content;
  });
  // Charts read their data from <script type="application/json"> blocks.
  const data = document.getElementById("activity-data");
  const canvas = document.getElementById("activity-chart");
  if (data && canvas && window.Chart) {
    const series = JSON.parse(data.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: series.labels, datasets: [{ label: series.label, data: series.values }] },
      options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }
});
