"""CDN delivery: a file's bytes, previews and image operations, public by UUID like Uploadcare's CDN.

No login and no CSRF: anyone holding a UUID may read the file, nobody can change anything here.
How the bytes are sent is core.delivery; how images are rendered is files.cdn.images.
"""

import functools
import json
import uuid as uuid_lib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from accounts.audit import client_ip
from billing.metering import traffic_add
from core import delivery, ratelimit, rawsql, urltokens
from files.cdn import images, video
from files.content import clean_filename
from files.models import File
from files.storage.backends import storage_for
from files.storage.edge import edge_admit
from files.storage.edge import enabled as edge_enabled
from projects.models import DeliverySecret, Project

ONE_YEAR = 365 * 24 * 3600
TEMPORARY_MAX_AGE = 300  # a temporary file may be deleted or expire at any time


@delivery.public
def file_view(request: HttpRequest, file_id: str, filename: str = "") -> HttpResponseBase:
    file = live_file(file_id)
    if file is None:
        return delivery.not_found()
    return refused(request, file.project, file_id) or serve_file(request, file, filename)


def serve_file(request: HttpRequest, file: File, filename: str) -> HttpResponseBase:
    """The original's bytes, named by the URL's file name or the uploaded one."""
    headers = _headers(
        request,
        file,
        etag=f'"{file.uuid.hex}"',
        mime_type=file.mime_type,
        filename=name_from_url(filename) or file.original_filename,
        # Uploadcare's CDN shows images in place and has browsers save everything else.
        inline=file.is_image or not file.project.download_non_images,
    )
    return delivery.not_modified(request, headers) or delivery.deliver(
        request,
        key=file.storage_key,
        size=file.size,
        headers=headers,
        storage=storage_for(file),
        on_sent=traffic(file),
    )


@delivery.public
def preview_view(request: HttpRequest, file_id: str, size: str | None = None, filename: str = "") -> HttpResponseBase:
    """`{uuid}/-/preview/[WxH/][filename]`: the image fitted in the box, JPEG unless it needs PNG."""
    try:
        plan = images.parse_preview(size)
    except ValueError as exc:
        return delivery.plain(400, str(exc))
    file = live_file(file_id)
    if file is None:
        return delivery.not_found()
    return refused(request, file.project, file_id) or serve_operations(request, file, plan, filename)


@delivery.public
def operations_view(request: HttpRequest, file_id: str, ops: str) -> HttpResponseBase:
    """`{uuid}/-/resize/200x/-/format/webp/[filename]`: strictly parsed, rendered once, then cached."""
    try:
        plan, filename = images.parse("-/" + ops)
    except ValueError as exc:
        return delivery.plain(400, str(exc))
    file = live_file(file_id)
    if file is None:
        return delivery.not_found()
    return refused(request, file.project, file_id) or serve_operations(request, file, plan, filename)


def serve_operations(request: HttpRequest, file: File, plan: images.Plan, filename: str) -> HttpResponseBase:
    """An operation chain's result, with the project's delivery settings for what it leaves open."""
    plan.defaults(auto_format=file.project.auto_format, quality=file.project.default_quality)
    return serve_rendering(request, file, plan, filename)


@delivery.public
def detect_faces_view(request: HttpRequest, file_id: str) -> HttpResponseBase:
    """`{uuid}/detect_faces/`: where pyuploadcare puts it (no `-/`), the faces as JSON."""
    plan, _ = images.parse("-/detect_faces/")
    file = live_file(file_id)
    if file is None:
        return delivery.not_found()
    return refused(request, file.project, file_id) or serve_rendering(request, file, plan, "")


def serve_rendering(request: HttpRequest, file: File, plan: images.Plan, filename: str) -> HttpResponseBase:
    if not file.is_image:
        return delivery.not_found()
    accepts = images.accepted(request.META.get("HTTP_ACCEPT", ""))
    output = images.output_of(plan, file.image_info or {}, accepts)
    name = name_from_url(filename) or images.rendering_filename(file.original_filename, output)
    # The ETag names the rendering, so it never matches the original's or another rendering's.
    headers = _headers(
        request,
        file,
        etag=f'"{file.uuid.hex}-{output.tag}"',
        mime_type=output.mime_type,
        filename=name,
        inline=plan.inline is not False,
        varies=plan.format == "auto",
    )

    def make() -> str:
        return images.rendering_get_or_create(
            source=file,
            plan=plan,
            accepts=accepts,
            layers=layers_of(file),
            admit=misses(request, file.project_id),
        )

    return delivery.not_modified(request, headers) or rendered(request, make, headers=headers, on_sent=traffic(file))


@delivery.public
def gif2video_view(request: HttpRequest, file_id: str, ops: str = "") -> HttpResponseBase:
    """`{uuid}/gif2video/[-/format/mp4|webm/][-/quality/…/]`: an animated GIF as a video."""
    try:
        fmt, quality = video.parse(ops)
    except ValueError as exc:
        return delivery.plain(400, str(exc))
    file = live_file(file_id)
    if file is None:
        return delivery.not_found()
    if refusal := refused(request, file.project, file_id):
        return refusal
    source_format = (file.image_info or {}).get("format")
    if source_format != "GIF":
        return delivery.plain(400, f"gif2video converts GIF images; this file is {source_format or 'not an image'}.")
    output = video.output_of(fmt, quality)
    name = images.rendering_filename(file.original_filename, output)
    headers = _headers(request, file, etag=f'"{file.uuid.hex}-{output.tag}"', mime_type=output.mime_type, filename=name)
    return delivery.not_modified(request, headers) or rendered(
        request,
        lambda: video.video_get_or_create(file, fmt, quality, misses(request, file.project_id)),
        headers=headers,
        on_sent=traffic(file),
    )


def rendered(
    request: HttpRequest,
    make: Callable[[], str],
    *,
    headers: dict[str, str],
    on_sent: Callable[[int], None],
    undecodable: Callable[[], HttpResponseBase] = delivery.not_found,
) -> HttpResponseBase:
    """Sends what `make()` keeps (a rendering, made on first use): the CDN's and the proxy's one
    answer to what rendering can refuse."""
    try:
        key = make()
    except images.UndecodableImage:
        return undecodable()
    except (images.Busy, video.Unavailable) as exc:
        response = delivery.plain(503, str(exc))
        response["Retry-After"] = "2"
        return response
    except ratelimit.Throttled as exc:
        return throttled(exc)
    except ValueError as exc:  # a limit only the image reveals, or an overlay that cannot be used
        return delivery.plain(400, str(exc))
    return delivery.deliver(request, key=key, size=None, headers=headers, storage=default_storage, on_sent=on_sent)


def misses(request: HttpRequest, project_id) -> Callable[[], None]:
    """Counts a cache miss (a render, an origin fetch) per client address and per project; hits,
    which cost a lookup and a send, are not limited."""
    address = client_ip(request)
    return lambda: ratelimit.admit(
        (f"miss-ip:{address}", settings.FILEDOCK_RATE_MISS_IP),
        (f"miss-project:{project_id}", settings.FILEDOCK_RATE_MISS_PROJECT),
    )


def throttled(exc: ratelimit.Throttled) -> HttpResponseBase:
    response = delivery.plain(429, str(exc))
    response["Retry-After"] = str(exc.wait)
    response["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def layers_of(file: File) -> Callable:
    """Opens the image an overlay names: a live image of the same project, else None."""

    def open_layer(uuid: str):
        other = live_file(uuid)
        if other is None or other.project_id != file.project_id or not other.is_image:
            return None
        return storage_for(other).open(other.storage_key, "rb")

    return open_layer


def live_file(file_id: str) -> File | None:
    """The file behind a CDN URL; None if unknown, removed, or temporary past its lifetime.

    Not scoped to a project on purpose: the UUID is the capability, as on Uploadcare's CDN.
    One hand-written SELECT (every CDN request makes it): the file, the project settings delivery
    reads, and the project's delivery secrets (encrypted; decrypted only when URLs are signed).
    """
    try:
        file_uuid = uuid_lib.UUID(file_id)
    except ValueError:
        return None
    files = rawsql.columns(File, "f")
    with connection.cursor() as cursor:
        cursor.execute(_live_file_query(), [rawsql.param(File, "uuid", file_uuid)])
        row = cursor.fetchone()
    if row is None:
        return None
    file = files.load(row[: len(files)])
    signed, auto_format, quality, downloads, secrets = row[len(files) :]
    if isinstance(secrets, str):  # SQLite answers a JSON array
        secrets = json.loads(secrets)
    file.project = Project.from_db(
        connection.alias,
        ["id", *DELIVERY_FIELDS],
        [file.project_id, bool(signed), bool(auto_format), quality, bool(downloads)],  # SQLite: 0 or 1
    )
    file.project.encrypted_secrets = [secret for secret in secrets or [] if secret]
    # The expiry job runs every minute or so; a file past its lifetime is gone from the moment it
    # expires, whether or not the job has claimed it yet.
    if not file.is_stored and _seconds_left(file) <= 0:
        return None
    return file


DELIVERY_FIELDS = ("signed_delivery", "auto_format", "default_quality", "download_non_images")


@functools.cache
def _live_file_query() -> str:
    """The lookup's SQL, written once per process."""
    quote = connection.ops.quote_name
    settings_ = ", ".join(f"p.{quote(name)}" for name in DELIVERY_FIELDS)
    secrets_table = rawsql.table(DeliverySecret)
    ordered = f"SELECT s.secret FROM {secrets_table} s WHERE s.project_id = p.id ORDER BY s.created_at DESC"
    if connection.vendor == "postgresql":
        secrets = f"ARRAY({ordered})"
    else:
        secrets = f"(SELECT json_group_array(secret) FROM ({ordered}))"
    return (
        f"SELECT {rawsql.columns(File, 'f').sql}, {settings_}, {secrets} "
        f"FROM {rawsql.table(File)} f JOIN {rawsql.table(Project)} p ON p.id = f.project_id "
        "WHERE f.uuid = %s AND f.datetime_removed IS NULL AND p.deleted_at IS NULL"
    )


def _seconds_left(file: File) -> int:
    expires = file.datetime_uploaded + timedelta(seconds=settings.FILEDOCK_TEMPORARY_FILE_LIFETIME)
    return int((expires - timezone.now()).total_seconds())


def refused(request: HttpRequest, project: Project, ident: str) -> HttpResponseBase | None:
    """A 403 when the project signs its URLs and this one's token does not grant it; else None.

    `ident` is the file's or group's id as the URL has it: ACLs name paths from there on.
    """
    if not project.signed_delivery:
        return None
    start = request.path.lower().find(ident.lower())
    path = request.path[start - 1 :] if start > 0 else request.path
    urls = urltokens.url_forms(path, [f"{scheme}://{request.get_host()}{request.path}" for scheme in ("https", "http")])
    reason, secrets = "", project.signing_secrets()
    # The token as sent (pyuploadcare escapes the `~` of a group's id as %7e, and signs that), then
    # as decoded: either may be what was signed.
    for token in dict.fromkeys([raw_token(request), request.GET.get("token", "")]):
        reason = urltokens.check(token, path=path, urls=urls, secrets=secrets)
        if not reason:
            return None
    return delivery.plain(403, reason) if reason else None


def raw_token(request: HttpRequest) -> str:
    """The `token` query parameter as it is in the request line, not percent-decoded."""
    for pair in request.META.get("QUERY_STRING", "").split("&"):
        name, _, value = pair.partition("=")
        if name == "token":
            return value
    return ""


def _headers(
    request: HttpRequest,
    file: File,
    *,
    etag: str,
    mime_type: str,
    filename: str,
    inline: bool = True,
    varies: bool = False,
) -> dict[str, str]:
    if file.is_stored:
        max_age, immutable = ONE_YEAR, ", immutable"  # bytes behind a UUID never change
    else:
        max_age, immutable = max(0, min(TEMPORARY_MAX_AGE, _seconds_left(file))), ""
    if file.project.signed_delivery:
        # Only for whoever holds the token, and no longer than it lasts.
        left = urltokens.seconds_left(request.GET.get("token", ""))
        cache = f"private, max-age={max(0, min(max_age, left))}"
    elif (varies and edge_enabled()) or not edge_admit(request, file):
        cache = f"private, max-age={max_age}{immutable}"  # the edge could not purge it
    else:
        cache = f"public, max-age={max_age}{immutable}"
    headers = delivery.delivery_headers(
        etag=etag,
        mime_type=mime_type,
        filename=filename,
        last_modified=file.datetime_uploaded.timestamp(),
        cache_control=cache,
        inline=inline,
    )
    if varies:
        headers["Vary"] = "Accept"
    return headers


def name_from_url(filename: str) -> str:
    """The URL's last segment as a header-safe base name; empty when it names nothing usable."""
    return clean_filename(filename) if filename.strip(" .") else ""


def traffic(file: File) -> Callable[[int], None]:
    """Counts the bytes sent toward the file's project's traffic for the day."""
    return traffic_of(file.project_id)


def traffic_of(project_id) -> Callable[[int], None]:
    return lambda sent: traffic_add(project_id=project_id, sent=sent)
