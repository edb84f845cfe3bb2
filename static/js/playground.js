// Transformation playground: a GET form with data-playground="<id>". As its options change, the
// page is fetched with them and the element with that id (the URL and its preview) is replaced by
// the server's rendering, so the URL is built in one place; the address bar follows. Without
// JavaScript the form's button loads the same page.
(() => {
  const forms = document.querySelectorAll("form[data-playground]");
  forms.forEach((form) => {
    let timer = null;
    let latest = 0;
    const refresh = async () => {
      const url = new URL(form.action, window.location.href);
      url.search = new URLSearchParams(new FormData(form)).toString();
      const request = ++latest;
      const response = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!response.ok || request !== latest) return; // a newer change is already on its way
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const region = document.getElementById(form.dataset.playground);
      const replacement = fresh.getElementById(form.dataset.playground);
      if (region && replacement) region.replaceWith(document.adoptNode(replacement));
      window.history.replaceState(null, "", url);
    };
    const later = () => { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  });
})();
