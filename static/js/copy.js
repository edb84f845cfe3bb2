// Copy buttons: <button data-copy="value">. Without JavaScript the value is still selectable text.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const original = button.textContent;
  try {
    await navigator.clipboard.writeText(button.dataset.copy);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Press Ctrl+C";
    const code = button.parentElement.querySelector("code");
    if (code) window.getSelection().selectAllChildren(code);
  }
  button.classList.add("copied");
  setTimeout(() => { button.textContent = original; button.classList.remove("copied"); }, 1600);
});
