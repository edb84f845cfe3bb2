// Controls with data-autosubmit apply at once: changing one submits its form (a GET filter form).
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]") && event.target.form) event.target.form.requestSubmit();
});
