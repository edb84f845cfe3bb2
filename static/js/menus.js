// Top-bar menus are <details>: they open and close with Enter or Space on their summary without
// JavaScript. With it, Escape closes the open one and puts the focus back on its summary, and
// opening one closes the other.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const menu = document.querySelector("details.menu[open]");
  if (!menu) return;
  menu.open = false;
  menu.querySelector("summary").focus();
});
document.addEventListener("toggle", (event) => {
  const menu = event.target;
  if (!menu.matches?.("details.menu") || !menu.open) return;
  document.querySelectorAll("details.menu[open]").forEach((other) => { if (other !== menu) other.open = false; });
}, true);
