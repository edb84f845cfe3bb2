// Copy buttons: <button data-copy="value">, and one added before every <pre> (snippets, payloads),
// copying its text. Without JavaScript the text is still selectable.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("pre").forEach((pre, index) => {
    if (pre.previousElementSibling?.matches("[data-copy-target]")) return;
    if (!pre.id) pre.id = `copyable-${index}`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button small secondary copy-pre";
    button.dataset.copyTarget = pre.id;
    button.textContent = "Copy";
    pre.before(button);
  });
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy], [data-copy-target]");
  if (!button) return;
  const target = button.dataset.copyTarget && document.getElementById(button.dataset.copyTarget);
  const text = target ? target.textContent : button.dataset.copy;
  const original = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Press Ctrl+C";
    const code = target || button.parentElement.querySelector("code");
    if (code) window.getSelection().selectAllChildren(code);
  }
  button.classList.add("copied");
  setTimeout(() => { button.textContent = original; button.classList.remove("copied"); }, 1600);
});
