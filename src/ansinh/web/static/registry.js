// Registry pages. No inline scripts (the Content-Security-Policy forbids them).
document.addEventListener("DOMContentLoaded", () => {
  // Imports: the column layout and template link follow the kind chosen.
  const kind = document.getElementById("import-kind");
  if (kind) {
    const show = () => {
      document.querySelectorAll(".import-columns").forEach((block) => {
        block.hidden = block.dataset.kind !== kind.value;
      });
    };
    kind.addEventListener("change", show);
    show();
  }
});
