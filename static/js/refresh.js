// Partial refresh: on a "filedock:refresh" event, every element with data-refresh (and an id) is
// replaced by the same element from a fresh copy of the page; then "filedock:refreshed" fires.
document.addEventListener("filedock:refresh", async () => {
  const regions = document.querySelectorAll("[data-refresh][id]");
  if (!regions.length) return;
  const response = await fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  regions.forEach((region) => {
    const replacement = fresh.getElementById(region.id);
    if (replacement) region.replaceWith(document.adoptNode(replacement));
  });
  document.dispatchEvent(new CustomEvent("filedock:refreshed"));
});
