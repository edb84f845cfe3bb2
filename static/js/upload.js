// Dashboard uploads: a <form data-upload> with a file input, a [data-dropzone] and a [data-upload-list].
// Each picked or dropped file is sent in its own XMLHttpRequest with a <progress> bar; when all are
// done the page's [data-refresh] regions are reloaded. Without JavaScript the form posts as it is.
// A file larger than the form's data-tus-threshold goes to its data-tus endpoint instead, in
// data-tus-chunk-size pieces, resumable (tus.js); the bar then moves a chunk at a time.
(() => {
  const form = document.querySelector("form[data-upload]");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const list = form.querySelector("[data-upload-list]");
  const zone = form.querySelector("[data-dropzone]") || form;
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const PARALLEL = 3;
  const tus = form.dataset.tus && window.FiledockTus ? {
    endpoint: form.dataset.tus,
    threshold: Number(form.dataset.tusThreshold),
    chunkSize: Number(form.dataset.tusChunkSize),
  } : null;
  form.classList.add("js-upload");

  const row = (file) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    const bar = document.createElement("progress");
    const status = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    bar.max = file.size || 1;
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload of ${file.name}`);
    status.className = "upload-status";
    status.textContent = "Waiting";
    item.append(name, bar, status);
    list.append(item);
    return { item, bar, status };
  };

  const finisher = ({ item, bar, status }, resolve) => (ok, message) => {
    bar.value = bar.max;
    item.classList.add(ok ? "done" : "failed");
    status.textContent = message;
    resolve(ok);
  };

  const sendTus = (file, ui) => new Promise((resolve) => {
    const finish = finisher(ui, resolve);
    ui.item.dataset.via = "tus";
    ui.status.textContent = "0%";
    window.FiledockTus.upload(file, {
      endpoint: tus.endpoint,
      chunkSize: tus.chunkSize,
      headers: { "X-CSRFToken": token },
      onProgress: (sent, total) => {
        ui.bar.max = total;
        ui.bar.value = sent;
        ui.status.textContent = `${Math.floor((100 * sent) / total)}%`;
      },
    }).then(() => finish(true, "Uploaded"), (error) => finish(false, error instanceof TypeError ? "Network error" : error.message));
  });

  const send = (file, ui) => {
    if (tus && file.size > tus.threshold) return sendTus(file, ui);
    return sendForm(file, ui);
  };

  const sendForm = (file, { item, bar, status }) => new Promise((resolve) => {
    const body = new FormData();
    body.append(input.name, file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      bar.max = event.total;
      bar.value = event.loaded;
      status.textContent = `${Math.floor((100 * event.loaded) / event.total)}%`;
    });
    const finish = finisher({ item, bar, status }, resolve);
    xhr.addEventListener("load", () => {
      if (xhr.status === 200) finish(true, "Uploaded");
      else finish(false, (xhr.response && xhr.response.error) || `Failed (HTTP ${xhr.status})`);
    });
    xhr.addEventListener("error", () => finish(false, "Network error"));
    status.textContent = "0%";
    xhr.send(body);
  });

  const start = async (fileList) => {
    const queue = Array.from(fileList).map((file) => [file, row(file)]);
    if (!queue.length) return;
    input.value = "";
    let uploaded = 0;
    const worker = async () => {
      while (queue.length) {
        const [file, ui] = queue.shift();
        if (await send(file, ui)) uploaded += 1;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    if (uploaded) document.dispatchEvent(new CustomEvent("filedock:refresh"));
  };

  input.addEventListener("change", () => {
    list.replaceChildren();
    start(input.files);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    start(input.files);
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    list.replaceChildren();
    start(event.dataTransfer.files);
  });
})();
