"""HTTP file delivery: how stored bytes are sent, for every public endpoint that sends them.

Rules:
- Public views answer GET, HEAD and OPTIONS only (a CORS preflight is answered here), never behind
  CSRF, and every answer carries CORS headers.
- A conditional request (If-None-Match, If-Modified-Since) is answered 304 before a byte is read.
- One byte range per request: 206, or 416 when it starts past the end. Several, malformed or stale
  (If-Range) ranges get the whole file, as RFC 9110 allows; HEAD describes the whole file.
- Every body is inline, nosniff, and sandboxed by a CSP unless it is a PDF.
- Who sends the bytes: S3, through a presigned redirect, for a full GET from a bucket when
  FILEDOCK_CDN_S3_REDIRECT is on; nginx, through X-Accel-Redirect, for the default storage when
  FILEDOCK_CDN_X_ACCEL_PREFIX is set; otherwise this process, streaming in chunks.
- The caller brings what is its own: the storage, the header values, and what to do with the
  number of bytes a GET sends (metering).
"""

import functools
import re
from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.numbers import bounded_int

CHUNK = 64 * 1024
RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$", re.IGNORECASE)  # ASCII digits: \d takes any script's
UNSATISFIABLE = "unsatisfiable"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Accept-Ranges, Content-Disposition, Content-Length, Content-Range, ETag",
}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, If-None-Match, If-Modified-Since, If-Range",
    "Access-Control-Max-Age": "86400",
}
# Delivered files share the dashboard's origin, and anyone with a public key can upload HTML or
# SVG: sandboxed, such a file runs no script and cannot reach the dashboard as the viewer.
# PDFs are left out because browser PDF viewers refuse to run in a sandbox.
SANDBOX = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"


def public(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """GET/HEAD/OPTIONS only, CORS preflight answered, never behind CSRF."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method == "OPTIONS":
            return _with(HttpResponse(status=204), PREFLIGHT)
        return view(request, *args, **kwargs)

    return csrf_exempt(require_http_methods(["GET", "HEAD", "OPTIONS"])(wrapped))


def plain(status: int, message: str) -> HttpResponse:
    """A short text answer (an error) with the CORS headers."""
    return _with(HttpResponse(f"{message}\n", status=status, content_type="text/plain; charset=utf-8"), CORS)


def not_found() -> HttpResponse:
    return plain(404, "Not found.")


def delivery_headers(
    *, etag: str, mime_type: str, filename: str, last_modified: float, cache_control: str, inline: bool = True
) -> dict[str, str]:
    """The headers every delivered body carries; `filename` names the download, which a browser
    shows in place when `inline`, and saves otherwise."""
    headers = {
        "Content-Type": mime_type,
        "Content-Disposition": disposition(filename, inline=inline),
        "ETag": etag,
        "Last-Modified": http_date(last_modified),
        "Cache-Control": cache_control,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        **CORS,
    }
    if mime_type != "application/pdf":
        headers["Content-Security-Policy"] = SANDBOX
    return headers


def not_modified(request: HttpRequest, headers: dict[str, str]) -> HttpResponseBase | None:
    """A 304 (or 412) when the client's conditional headers allow it, else None."""
    stub = HttpResponse(headers=headers)
    answer = get_conditional_response(
        request, etag=headers["ETag"], last_modified=parse_http_date_safe(headers["Last-Modified"]), response=stub
    )
    return None if answer is stub else _with(answer, CORS)


def deliver(
    request: HttpRequest,
    *,
    key: str,
    size: int | None,
    headers: dict[str, str],
    storage: Storage,
    on_sent: Callable[[int], None],
) -> HttpResponseBase:
    """The response that sends `key` from `storage` (`size` if known) with `headers`.

    Calls `on_sent` with the bytes a GET sends: the Content-Length (a Range counts its part), or
    the whole object when nginx or S3 sends it. HEAD and errors send none.
    """
    response = _response(request, key=key, size=size, headers=headers, storage=storage)
    if request.method == "GET" and response.status_code in (200, 206, 302):
        length = response.get("Content-Length") if response.status_code != 302 else None
        if length is not None:
            on_sent(int(length))
        else:
            on_sent(size if size is not None else storage.size(key))
    return response


def _response(
    request: HttpRequest, *, key: str, size: int | None, headers: dict[str, str], storage: Storage
) -> HttpResponseBase:
    full_get = request.method == "GET" and "HTTP_RANGE" not in request.META
    # With S3, a full download goes straight to the bucket; the rarer Range and HEAD requests
    # still come through nginx (if configured) or this process.
    if full_get and settings.FILEDOCK_CDN_S3_REDIRECT and getattr(storage, "querystring_auth", False):
        return _redirect(storage, key, headers)
    # nginx's internal location maps the default storage only; any other storage is read here.
    if (prefix := settings.FILEDOCK_CDN_X_ACCEL_PREFIX) and storage is default_storage:
        # nginx serves the bytes (and the Range) from its internal location; Django only decides.
        return _with(HttpResponse(), headers, {"X-Accel-Redirect": prefix + quote(key)})
    if request.method == "HEAD":
        # RFC 9110 defines Range for GET only, so HEAD describes the whole file.
        return _with(HttpResponse(), headers, {"Content-Length": str(size if size is not None else storage.size(key))})
    try:
        stored = storage.open(key, "rb")
    except FileNotFoundError:
        return not_found()
    size = stored.size
    span = _byte_range(request, size, headers)
    if span == UNSATISFIABLE:
        stored.close()
        return _with(HttpResponse(status=416), CORS, {"Accept-Ranges": "bytes", "Content-Range": f"bytes */{size}"})
    if span is None and getattr(stored, "obj", None) is None:
        # A real file: the WSGI server can hand it to sendfile().
        response = FileResponse(stored, content_type=headers["Content-Type"])
    else:
        start, end = span or (0, size - 1)
        response = FileResponse(
            _reader(stored, start, end - start + 1), content_type=headers["Content-Type"], status=206 if span else 200
        )
        response["Content-Length"] = str(end - start + 1)
        if span:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response.block_size = CHUNK
    return _with(response, headers)


def disposition(name: str, *, inline: bool = True) -> str:
    """A Content-Disposition naming `name`, shown in place or saved."""
    kind = "inline" if inline else "attachment"
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", name)
    if fallback == name:
        return f'{kind}; filename="{name}"'
    # RFC 6266/5987: old clients read the ASCII fallback, the rest read the exact UTF-8 name.
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _byte_range(request: HttpRequest, size: int, headers: dict[str, str]) -> tuple[int, int] | str | None:
    """The one (first, last) byte span asked for; None to send everything; or UNSATISFIABLE."""
    match = RANGE.match(request.META.get("HTTP_RANGE", "").strip())
    if not match or match.groups() == ("", ""):
        return None
    if_range = request.META.get("HTTP_IF_RANGE", "").strip()
    if (
        if_range
        and if_range != headers["ETag"]
        and parse_http_date_safe(if_range) != parse_http_date_safe(headers["Last-Modified"])
    ):
        return None
    first, last = (bounded_int(value) if value else None for value in match.groups())
    if first is None:  # suffix range: the last N bytes
        if last == 0 or size == 0:
            return UNSATISFIABLE
        return max(0, size - last), size - 1
    if first >= size:
        return UNSATISFIABLE
    if last is not None and last < first:
        return None
    return first, min(last, size - 1) if last is not None else size - 1


def _reader(stored, start: int, length: int) -> "_Slice":
    obj = getattr(stored, "obj", None)
    if obj is None:
        stored.seek(start)
        return _Slice(stored, length)
    # An S3File would download the whole object into a temporary file on first read; ask S3 for
    # just these bytes and stream its body instead.
    body = obj.get(Range=f"bytes={start}-{start + length - 1}")["Body"] if length else None
    stored.close()
    return _Slice(body, length)


class _Slice:
    """At most `length` bytes of a file-like, read in the response's chunks, never all at once."""

    def __init__(self, source, length: int) -> None:
        self.source, self.remaining = source, length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0 or self.source is None:
            return b""
        data = self.source.read(self.remaining if size is None or size < 0 else min(size, self.remaining))
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        if self.source is not None:
            self.source.close()


def _redirect(storage: Storage, key: str, headers: dict[str, str]) -> HttpResponseBase:
    """A 302 to a presigned S3 URL that answers with the same Content-Type and name."""
    expire = storage.querystring_expire
    url = storage.url(
        key,
        expire=expire,
        parameters={
            "ResponseContentType": headers["Content-Type"],
            "ResponseContentDisposition": headers["Content-Disposition"],
        },
    )
    # Cached for less than the signature lives (and no longer than the caller's own max-age), so
    # nobody is sent to an expired URL.
    max_age = min(expire // 2, int(re.search(r"max-age=(\d+)", headers["Cache-Control"]).group(1)))
    return _with(HttpResponseRedirect(url), CORS, {"Cache-Control": f"public, max-age={max_age}"})


def _with(response: HttpResponseBase, *header_sets: dict[str, str]) -> HttpResponseBase:
    for header_set in header_sets:
        for name, value in header_set.items():
            response[name] = value
    return response
