// Account pages (allauth). Static replacements for the inline scripts in allauth's own templates,
// which the Content-Security-Policy would block. Everything here is optional: without JavaScript
// the pages still work, they just do not ask twice.

// <button data-confirm="question">: ask before this particular button submits its form
// (e.g. removing an email address). Forms that always confirm use data-confirm on the <form>, see confirm.js.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// Recovery codes shown only once (MFA_RECOVERY_CODES_SHOW_ONCE): warn before leaving the page
// until "I have saved my recovery codes" is ticked.
(() => {
  const saved = document.querySelector("[data-unsaved-guard] input[type=checkbox]");
  if (!saved) return;
  const warn = (event) => { event.preventDefault(); event.returnValue = ""; };
  const update = () => {
    if (saved.checked) window.removeEventListener("beforeunload", warn);
    else window.addEventListener("beforeunload", warn);
  };
  saved.addEventListener("change", update);
  update();
})();
