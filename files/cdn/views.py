"""CDN delivery: a file's bytes and image previews, public by UUID like Uploadcare's CDN.

No login and no CSRF: anyone holding a UUID may read the file, nobody can change anything here.
"""

import functools
import re
import uuid as uuid_lib
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from billing.metering import usage_add
from files.cdn import operations, previews
from files.content import clean_filename
from files.models import File
from files.storage.backends import storage_for

ONE_YEAR = 365 * 24 * 3600
TEMPORARY_MAX_AGE = 300  # a temporary file may be deleted or expire at any time
CHUNK = 64 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.IGNORECASE)
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
# The CDN shares the dashboard's origin, and anyone with a public key can upload HTML or SVG:
# sandboxed, such a file runs no script and cannot reach the dashboard as the viewer.
# PDFs are left out because browser PDF viewers refuse to run in a sandbox.
SANDBOX = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"


def public(view):
    """GET/HEAD/OPTIONS only, CORS preflight answered, never behind CSRF."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method == "OPTIONS":
            return _with(HttpResponse(status=204), PREFLIGHT)
        return view(request, *args, **kwargs)

    return csrf_exempt(require_http_methods(["GET", "HEAD", "OPTIONS"])(wrapped))


@public
def file_view(request: HttpRequest, file_id: str, filename: str = "") -> HttpResponseBase:
    file = _live_file(file_id)
    if file is None:
        return _not_found()
    headers = _headers(
        file,
        etag=f'"{file.uuid.hex}"',
        mime_type=file.mime_type,
        filename=_name_from_url(filename) or file.original_filename,
    )
    response = not_modified(request, headers) or deliver(
        request, key=file.storage_key, size=file.size, headers=headers, storage=storage_for(file)
    )
    count_traffic(file.project_id, request, response, key=file.storage_key, size=file.size)
    return response


@public
def preview_view(request: HttpRequest, file_id: str, size: str | None = None, filename: str = "") -> HttpResponseBase:
    try:
        width, height = previews.parse_size(size)
    except ValueError as exc:
        return _with(HttpResponseBadRequest(f"{exc}\n", content_type="text/plain; charset=utf-8"), CORS)
    file = _live_file(file_id)
    if file is None or not file.is_image:
        return _not_found()
    plan = previews.preview_plan(file=file, width=width, height=height)
    name = _name_from_url(filename) or previews.preview_filename(file.original_filename, plan.ext)
    # The ETag names the rendered size, so it never matches the original's or another size's.
    headers = _headers(
        file, etag=f'"{file.uuid.hex}-{plan.width}x{plan.height}"', mime_type=plan.mime_type, filename=name
    )
    if response := not_modified(request, headers):
        return response
    try:
        key = previews.preview_get_or_create(file=file, width=width, height=height)
    except previews.PreviewError:
        return _not_found()
    response = deliver(
        request, key=key, size=None, headers=headers, storage=default_storage
    )  # previews: default storage
    count_traffic(file.project_id, request, response, key=key, size=None)
    return response


@public
def operations_view(request: HttpRequest, file_id: str, ops: str) -> HttpResponseBase:
    """`{uuid}/-/resize/200x/-/format/webp/[filename]`: strictly parsed, rendered once, then cached."""
    try:
        plan, filename = operations.parse("-/" + ops)
    except ValueError as exc:
        return _with(HttpResponseBadRequest(f"{exc}\n", content_type="text/plain; charset=utf-8"), CORS)
    file = _live_file(file_id)
    if file is None or not file.is_image:
        return _not_found()
    accepts_webp = "image/webp" in request.META.get("HTTP_ACCEPT", "")
    kind = operations.output_kind(plan, file.image_info, accepts_webp)
    name = _name_from_url(filename) or previews.preview_filename(file.original_filename, kind.replace("jpeg", "jpg"))
    digest = operations.rendering_key(file=file, plan=plan, kind=kind).rsplit("-", 1)[1].split(".")[0]
    headers = _headers(file, etag=f'"{file.uuid.hex}-{digest}"', mime_type=f"image/{kind}", filename=name)
    if plan.format == "auto":
        headers["Vary"] = "Accept"
    if response := not_modified(request, headers):
        return response
    try:
        key, _ = operations.rendering_get_or_create(file=file, plan=plan, accepts_webp=accepts_webp)
    except operations.UndecodableImage:
        return _not_found()
    except ValueError as exc:  # a limit only the image's own size reveals (a computed side too large)
        return _with(HttpResponseBadRequest(f"{exc}\n", content_type="text/plain; charset=utf-8"), CORS)
    response = deliver(request, key=key, size=None, headers=headers, storage=default_storage)
    count_traffic(file.project_id, request, response, key=key, size=None)
    return response


def _live_file(file_id: str) -> File | None:
    """The file behind a CDN URL; None if unknown, removed, or temporary past its lifetime.

    Not scoped to a project on purpose: the UUID is the capability, as on Uploadcare's CDN.
    """
    try:
        file_uuid = uuid_lib.UUID(file_id)
    except ValueError:
        return None
    file = File.objects.present().filter(uuid=file_uuid, project__deleted_at__isnull=True).first()
    # The expiry job runs every minute or so; a file past its lifetime is gone from the moment it
    # expires, whether or not the job has claimed it yet.
    if file is not None and not file.is_stored and _seconds_left(file) <= 0:
        return None
    return file


def _seconds_left(file: File) -> int:
    expires = file.datetime_uploaded + timedelta(seconds=settings.FILEDOCK_TEMPORARY_FILE_LIFETIME)
    return int((expires - timezone.now()).total_seconds())


def _headers(file: File, *, etag: str, mime_type: str, filename: str) -> dict[str, str]:
    if file.is_stored:
        cache = f"public, max-age={ONE_YEAR}, immutable"  # bytes behind a UUID never change
    else:
        cache = f"public, max-age={max(0, min(TEMPORARY_MAX_AGE, _seconds_left(file)))}"
    return delivery_headers(
        etag=etag,
        mime_type=mime_type,
        filename=filename,
        last_modified=file.datetime_uploaded.timestamp(),
        cache_control=cache,
    )


def delivery_headers(
    *, etag: str, mime_type: str, filename: str, last_modified: float, cache_control: str
) -> dict[str, str]:
    """The headers every delivered body carries (the CDN's and the proxy's)."""
    headers = {
        "Content-Type": mime_type,
        "Content-Disposition": _disposition(filename),
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


def _name_from_url(filename: str) -> str:
    """The URL's last segment as a header-safe base name; empty when it names nothing usable."""
    return clean_filename(filename) if filename.strip(" .") else ""


def _disposition(name: str) -> str:
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", name)
    if fallback == name:
        return f'inline; filename="{name}"'
    # RFC 6266/5987: old clients read the ASCII fallback, the rest read the exact UTF-8 name.
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def not_modified(request: HttpRequest, headers: dict[str, str]) -> HttpResponseBase | None:
    """A 304 (or 412) when the client's conditional headers allow it, else None."""
    stub = HttpResponse(headers=headers)
    answer = get_conditional_response(
        request, etag=headers["ETag"], last_modified=parse_http_date_safe(headers["Last-Modified"]), response=stub
    )
    return None if answer is stub else _with(answer, CORS)


def count_traffic(project_id, request: HttpRequest, response: HttpResponseBase, *, key: str, size: int | None) -> None:
    """Adds the bytes a GET sends (the Content-Length; the whole object when nginx or S3 sends it)
    to the project's traffic for the day. HEAD, 304 and errors send no file bytes."""
    if request.method != "GET" or response.status_code not in (200, 206, 302):
        return
    length = response.get("Content-Length") if response.status_code != 302 else None
    if length is None and size is None:  # a rendering sent by nginx or S3: ask the storage
        size = default_storage.size(key)
    usage_add(project_id=project_id, traffic_bytes=int(length) if length is not None else size)


def deliver(request: HttpRequest, *, key: str, size: int | None, headers: dict[str, str], storage) -> HttpResponseBase:
    full_get = request.method == "GET" and "HTTP_RANGE" not in request.META
    # With S3, a full download goes straight to the bucket; the rarer Range and HEAD requests
    # still come through nginx (if configured) or this process.
    if full_get and settings.FILEDOCK_CDN_S3_REDIRECT and getattr(storage, "querystring_auth", False):
        return _redirect(storage, key, headers)
    # nginx's internal location maps the default storage only; a project's own bucket is read here.
    if (prefix := settings.FILEDOCK_CDN_X_ACCEL_PREFIX) and storage is default_storage:
        # nginx serves the bytes (and the Range) from its internal location; Django only decides.
        return _with(HttpResponse(), headers, {"X-Accel-Redirect": prefix + quote(key)})
    if request.method == "HEAD":
        # RFC 9110 defines Range for GET only, so HEAD describes the whole file.
        return _with(HttpResponse(), headers, {"Content-Length": str(size if size is not None else storage.size(key))})
    try:
        stored = storage.open(key, "rb")
    except FileNotFoundError:
        return _not_found()
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


def _byte_range(request: HttpRequest, size: int, headers: dict[str, str]) -> tuple[int, int] | str | None:
    """The one (first, last) byte span asked for; None to send everything; or UNSATISFIABLE.

    Several ranges, a malformed header, or a stale If-Range all fall back to the whole file,
    which RFC 9110 allows.
    """
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
    first, last = match.groups()
    if not first:  # suffix range: the last N bytes
        if int(last) == 0 or size == 0:
            return UNSATISFIABLE
        return max(0, size - int(last)), size - 1
    if int(first) >= size:
        return UNSATISFIABLE
    if last and int(last) < int(first):
        return None
    return int(first), min(int(last), size - 1) if last else size - 1


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


def _redirect(storage, key: str, headers: dict[str, str]) -> HttpResponseBase:
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
    # Cached for less than the signature lives (and no longer than a temporary file's own short
    # max-age), so nobody is sent to an expired URL.
    max_age = min(expire // 2, int(re.search(r"max-age=(\d+)", headers["Cache-Control"]).group(1)))
    return _with(HttpResponseRedirect(url), CORS, {"Cache-Control": f"public, max-age={max_age}"})


def _not_found() -> HttpResponse:
    return _with(HttpResponse("Not found.\n", status=404, content_type="text/plain; charset=utf-8"), CORS)


def _with(response: HttpResponseBase, *header_sets: dict[str, str]) -> HttpResponseBase:
    for header_set in header_sets:
        for name, value in header_set.items():
            response[name] = value
    return response
