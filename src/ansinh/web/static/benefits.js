// The intake form: show only the fields of the benefit chosen (without JavaScript every group is shown and only the
// chosen type's fields are read by the server).
document.addEventListener("DOMContentLoaded", () => {
  const type = document.getElementById("f-type");
  if (!type) return;
  const groups = document.querySelectorAll("fieldset.type-fields[data-type]");
  const show = () => groups.forEach((g) => { g.hidden = g.dataset.type !== type.value; });
  type.addEventListener("change", show);
  show();
});
