// A tus 1.0 client (https://tus.io/protocols/resumable-upload) with fetch, for the files page's
// large uploads: POST creates the upload, PATCH sends it in chunks, and after a failure HEAD asks
// where it stands and the upload goes on from there, retried with backoff. The upload's URL is kept
// in localStorage by endpoint, file name, size and modification time until it is finished, so the
// same file picked again after a reload or a lost connection resumes instead of starting over.
//
//   FiledockTus.upload(file, { endpoint, chunkSize, headers, onProgress }) → Promise of the upload's URL
//
// It rejects with an Error whose message is the server's (tus answers refusals in plain text).
(() => {
  const VERSION = "1.0.0";
  const RETRY_DELAYS = [500, 1000, 3000, 5000, 10000]; // ms before each new attempt
  const PREFIX = "filedock-tus:";

  class Refused extends Error {} // a 4xx the server means: sending it again will not help

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const encode = (text) => {
    let binary = "";
    new TextEncoder().encode(text).forEach((byte) => { binary += String.fromCharCode(byte); });
    return btoa(binary);
  };
  const storage = {
    get: (key) => { try { return localStorage.getItem(key); } catch { return null; } },
    set: (key, value) => { try { localStorage.setItem(key, value); } catch { /* private mode: no resuming */ } },
    forget: (key) => { try { localStorage.removeItem(key); } catch { /* nothing kept */ } },
  };

  const call = async (method, url, headers, body) => {
    const response = await fetch(url, {
      method,
      body,
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Tus-Resumable": VERSION, ...headers },
    });
    if (response.ok) return response;
    // The server's refusals are plain text; anything else (a proxy's or Django's HTML page) is not shown.
    const plain = (response.headers.get("Content-Type") || "").startsWith("text/plain");
    const message = (plain && (await response.text()).trim()) || `Failed (HTTP ${response.status})`;
    // 409 (offset moved), 423 (locked) and 429 (slow down) are worth another try; other 4xx are final.
    const final = response.status >= 400 && response.status < 500 && ![409, 423, 429].includes(response.status);
    const error = final ? new Refused(message) : new Error(message);
    error.status = response.status;
    throw error;
  };

  const offsetOf = (response) => {
    const offset = Number(response.headers.get("Upload-Offset"));
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Error("The server sent no Upload-Offset.");
    return offset;
  };

  const upload = async (file, { endpoint, chunkSize, headers = {}, onProgress = () => {} }) => {
    const key = `${PREFIX}${endpoint}:${file.name}:${file.size}:${file.lastModified}`;
    let url = storage.get(key);
    let offset = null;
    if (url) {
      try {
        offset = offsetOf(await call("HEAD", url, headers));
      } catch (error) {
        if (!(error instanceof Refused)) throw error;
        storage.forget(key); // gone, expired or not ours: start again
        url = null;
      }
    }
    if (url === null) {
      const created = await call("POST", endpoint, {
        ...headers,
        "Upload-Length": String(file.size),
        "Upload-Metadata": [`filename ${encode(file.name)}`, `filetype ${encode(file.type || "")}`].join(","),
      });
      url = new URL(created.headers.get("Location"), window.location.href).href;
      storage.set(key, url);
      offset = 0;
    }
    onProgress(offset, file.size);
    let attempt = 0;
    while (offset < file.size) {
      try {
        const chunk = file.slice(offset, Math.min(offset + chunkSize, file.size));
        offset = offsetOf(await call("PATCH", url, {
          ...headers,
          "Content-Type": "application/offset+octet-stream",
          "Upload-Offset": String(offset),
        }, chunk));
        attempt = 0;
        onProgress(offset, file.size);
      } catch (error) {
        if (error instanceof Refused) {
          storage.forget(key);
          throw error;
        }
        if (attempt >= RETRY_DELAYS.length) throw error;
        await sleep(RETRY_DELAYS[attempt]);
        attempt += 1;
        try {
          offset = offsetOf(await call("HEAD", url, headers)); // where the server stands
        } catch (lost) {
          if (lost instanceof Refused) {
            storage.forget(key);
            throw lost;
          }
          // still unreachable: the next turn sends from the same offset, or asks again
        }
      }
    }
    storage.forget(key);
    return url;
  };

  window.FiledockTus = { upload };
})();
