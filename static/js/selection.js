// Row selection for bulk actions. Checkboxes belong to a form through form="id"; a box with
// data-select-all="id" ticks them all; the form with data-selection shows the count in its
// [data-selection-count], disables its buttons while nothing is ticked, and asks before a button
// with data-confirm-submit. Without JavaScript the ticked boxes simply post with the form.
(() => {
  const boxes = (formId) => document.querySelectorAll(`input[type=checkbox][name][form="${formId}"]`);

  const update = () => {
    document.querySelectorAll("form[data-selection][id]").forEach((form) => {
      const all = Array.from(boxes(form.id));
      const ticked = all.filter((box) => box.checked).length;
      const count = form.querySelector("[data-selection-count]");
      if (count) count.textContent = ticked ? `${ticked} selected` : count.dataset.empty;
      form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = !ticked; });
      document.querySelectorAll(`[data-select-all="${form.id}"]`).forEach((toggle) => {
        toggle.hidden = !all.length;
        toggle.checked = all.length > 0 && ticked === all.length;
        toggle.indeterminate = ticked > 0 && ticked < all.length;
      });
    });
  };

  document.addEventListener("change", (event) => {
    const toggle = event.target.closest("[data-select-all]");
    if (toggle) boxes(toggle.dataset.selectAll).forEach((box) => { box.checked = toggle.checked; });
    update();
  });
  document.addEventListener("submit", (event) => {
    const question = event.submitter && event.submitter.dataset.confirmSubmit;
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener("filedock:refreshed", update);
  update();
})();
