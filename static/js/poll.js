// Live progress: while an element with data-poll="<ms>" is on the page, ask refresh.js to swap the
// page's [data-refresh] regions every <ms>; it stops once the fresh page has no data-poll left.
(() => {
  const schedule = () => {
    const marker = document.querySelector("[data-poll]");
    if (!marker) return;
    const every = Number(marker.dataset.poll) || 2000;
    setTimeout(() => document.dispatchEvent(new CustomEvent("filedock:refresh")), every);
  };
  document.addEventListener("filedock:refreshed", schedule);
  document.addEventListener("DOMContentLoaded", schedule);
})();
