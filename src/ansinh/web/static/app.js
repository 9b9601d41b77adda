// ansinh front-end glue. No inline scripts (the Content-Security-Policy forbids them).
document.addEventListener("DOMContentLoaded", () => {
  // The side navigation: a button opens it on a phone; each section remembers whether it was folded.
  const toggle = document.querySelector(".nav-toggle");
  // The menu opens under the top bar, whose height depends on the screen (two rows on a phone).
  const topbar = document.querySelector(".topbar");
  const measure = () => document.documentElement.style.setProperty("--topbar-height", topbar.offsetHeight + "px");
  if (topbar) { measure(); window.addEventListener("resize", measure); }
  if (toggle) {
    const setOpen = (open) => {
      document.body.classList.toggle("nav-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    };
    toggle.addEventListener("click", () => {
      setOpen(!document.body.classList.contains("nav-open"));
      if (document.body.classList.contains("nav-open")) {
        const first = document.querySelector('.sidenav a[aria-current="page"]') || document.querySelector(".sidenav a");
        if (first) first.focus();
      }
    });
    // Escape, or a click beside the open menu, closes it (the focus goes back to the button).
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && document.body.classList.contains("nav-open")) {
        setOpen(false);
        toggle.focus();
      }
    });
    document.addEventListener("click", (event) => {
      if (document.body.classList.contains("nav-open") && !event.target.closest(".sidenav, .nav-toggle")) setOpen(false);
    });
  }
  document.querySelectorAll(".sidenav details[data-section]").forEach((section) => {
    const key = "ansinh.nav." + section.dataset.section;
    const holdsCurrent = section.querySelector('[aria-current="page"]') !== null;
    try {
      if (!holdsCurrent && localStorage.getItem(key) === "closed") section.removeAttribute("open");
    } catch (e) { /* storage off: every section open */ }
    section.addEventListener("toggle", () => {
      try { localStorage.setItem(key, section.open ? "open" : "closed"); } catch (e) { /* ignore */ }
    });
  });
  // A form button with data-confirm asks before an irreversible step.
  document.body.addEventListener("submit", (event) => {
    const button = event.submitter;
    const message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
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
