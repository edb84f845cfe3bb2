// Forms with data-confirm="question" ask before submitting; without JavaScript they submit directly.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
