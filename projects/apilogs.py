"""API logs: every Upload API and REST API request of a project, and every CDN request that failed.

A request never writes to the database for its log line. `ApiLogMiddleware` makes one compact JSON
line per request and RPUSHes it onto a Redis list (LTRIMmed to FILEDOCK_API_LOG_PENDING_MAX, so a
flood cannot grow it without limit); the drain task renames the list to a batch, bulk-inserts its
lines and deletes it, as `billing.metering` does with traffic. A batch left by a crash is drained again
on the next run: each line carries its row's UUID, so inserting it twice makes one row. Without Redis
(the embedded run) the line is written at once, as metering does there.

Which project a line belongs to is worked out by the drain, a few queries per batch, from what the
request knew: the project the view authenticated (`api_log_note`), else the public key it named, the
upload a multipart part or tus URL names, or the file or group of a CDN URL. A line that names no
live project is dropped.
"""

import json
import logging
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DatabaseError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from accounts.audit import client_ip
from core.pagination import InvalidCursor, Keyset, cursor_decode, cursor_encode, take
from core.redisconn import batches_to_apply, redis_client, redis_key, send_later
from files.models import File, Group, MultipartUpload
from projects.models import ApiLogLine, Project

log = logging.getLogger(__name__)

PENDING = "apilog:pending"
DRAINING = "apilog:draining:"
DRAIN_BATCH = 1000
PAGE_SIZE = 50
NEWEST_FIRST = Keyset("created_at", descending=True)
# Query parameters whose values are credentials or signatures: kept as "***" in the logged path.
SECRET_PARAMS = frozenset({"signature", "expire", "token", "secret", "secret_key", "access_token", "code"})
MASK = "***"
PATH_MAX = ApiLogLine._meta.get_field("path").max_length
ERROR_MAX = ApiLogLine._meta.get_field("error").max_length
USER_AGENT_MAX = ApiLogLine._meta.get_field("user_agent").max_length
ERROR_BODY_MAX = 4096  # longer bodies are not read for an error text
APIS = {"upload": ApiLogLine.Api.UPLOAD, "api": ApiLogLine.Api.REST, "cdn": ApiLogLine.Api.CDN}

_line: ContextVar[dict | None] = ContextVar("api_log_line", default=None)


def api_log_note(*, project: Project, key_label: str = "") -> None:
    """Names the project (and the REST key) of the API request being handled; nothing outside one."""
    line = _line.get()
    if line is not None:
        line["p"], line["k"] = str(project.pk), project.public_key
        if key_label:
            line["l"] = key_label[:100]


class ApiLogMiddleware:
    """Buffers a log line for each Upload API and REST request, and each CDN answer of 400 or more."""

    def __init__(self, get_response):
        if not settings.FILEDOCK_API_LOG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started, at = time.monotonic(), time.time()
        line: dict = {}
        token = _line.set(line)
        try:
            response = self.get_response(request)
        finally:
            _line.reset(token)
        api = api_of(request)
        if api is not None and (api != ApiLogLine.Api.CDN or response.status_code >= 400):
            _buffer({**_describe(request, response, api, at, started), **line})  # what the view noted wins
        return response


def api_of(request: HttpRequest) -> str | None:
    """Which API a request was for, by the URL namespace it resolved in (or its mount, when it did not)."""
    match = request.resolver_match
    if match is not None:
        return next((APIS[name] for name in match.app_names if name in APIS), None)
    api_path = urlsplit(settings.API_BASE).path
    # An unknown REST path (the REST API's own 404), when the API has a mount of its own on this host.
    return ApiLogLine.Api.REST if api_path not in ("", "/") and request.path.startswith(api_path) else None


def _describe(request: HttpRequest, response: HttpResponseBase, api: str, at: float, started: float) -> dict:
    line = {
        "i": uuid.uuid4().hex,
        "t": at,
        "a": api,
        "m": request.method[:10],
        "u": masked_path(request),
        "s": response.status_code,
        "d": round((time.monotonic() - started) * 1000),
        "ip": client_ip(request),
        "ua": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
    }
    if error := error_text(response):
        line["e"] = error
    if api == ApiLogLine.Api.REST:
        # "Uploadcare.Simple public:secret" or "Uploadcare public:signature": only the public part is kept,
        # and nothing from a header without the colon (that one word may be a secret sent alone).
        public_key, colon, _ = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[2].partition(":")
        line["k"] = public_key.strip()[:64] if colon else ""
    elif request.resolver_match is not None:
        kwargs = request.resolver_match.kwargs
        if api == ApiLogLine.Api.UPLOAD:  # a multipart part or a tus upload is named by its upload's id
            line["k"], line["mu"] = (
                request.GET.get("pub_key", "")[:64],
                str(kwargs.get("upload_uuid") or kwargs.get("upload_id") or ""),
            )
        else:
            line["f"], line["g"] = kwargs.get("file_id", ""), kwargs.get("group_id", "")
    return line


def masked_path(request: HttpRequest) -> str:
    """The path and query, with the values of SECRET_PARAMS replaced by MASK."""
    query = request.META.get("QUERY_STRING", "")
    if not query:
        return request.path[:PATH_MAX]
    pairs = [(name, MASK if name.lower() in SECRET_PARAMS else value) for name, value in parse_qsl(query, True)]
    return f"{request.path}?{urlencode(pairs, safe='/:*~,')}"[:PATH_MAX]


def error_text(response: HttpResponseBase) -> str:
    """A failed answer's message: the REST API's `detail`, the Upload API's error (also its
    `jsonerrors=1` form, which answers 200), or a short text body."""
    content_type = response.get("Content-Type", "")
    if response.status_code < 400 and not content_type.startswith("application/json"):
        return ""
    if response.streaming or len(response.content) > ERROR_BODY_MAX:
        return ""
    body = response.content
    if response.status_code < 400 and not body.startswith(b'{"error"'):
        return ""
    if content_type.startswith(("application/json", "application/vnd.uploadcare")):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            found = data.get("detail") or data.get("error")
            if isinstance(found, dict):
                found = found.get("content")
            return str(found or data)[:ERROR_MAX]
    if content_type.startswith("text/html"):
        return ""  # an error page, not a message
    return body.decode("utf-8", "replace").strip()[:ERROR_MAX]


def _buffer(line: dict) -> None:
    client = redis_client()
    if client is None:
        api_log_write([line])
        return
    key = redis_key(PENDING, "")

    def trimmed(results: list) -> None:
        # RPUSH answers the list's length: it is trimmed back only when a flood took it past the
        # limit, so a request adds one command to its round trip, not two.
        if results[0] > settings.FILEDOCK_API_LOG_PENDING_MAX:
            client.ltrim(key, -settings.FILEDOCK_API_LOG_PENDING_MAX, -1)

    # With Redis away the line is dropped (send_later logs it): unlike a count, a log line is not
    # worth a database write per request.
    send_later(lambda pipeline: pipeline.rpush(key, json.dumps(line, separators=(",", ":"))), done=trimmed)


def api_log_drain() -> int:
    """Writes the lines waiting in Redis as ApiLogLine rows; returns the lines read. Harmless to re-run."""
    client = redis_client()
    if client is None:
        return 0
    return sum(_drain(client, batch) for batch in batches_to_apply(client, pending=PENDING, taken=DRAINING))


def _drain(client: redis.Redis, key) -> int:
    start = 0
    while raw := client.lrange(key, start, start + DRAIN_BATCH - 1):
        lines = []
        for item in raw:
            try:
                lines.append(json.loads(item))
            except ValueError:
                continue
        api_log_write(lines)
        start += len(raw)
    client.delete(key)
    return start


def api_log_write(lines: list[dict]) -> int:
    """Inserts the lines that name a live project and are within the retention; returns how many."""
    cutoff = time.time() - settings.FILEDOCK_API_LOG_DAYS * 86400
    lines = [line for line in lines if line.get("t", 0) >= cutoff]
    projects = _projects_of(lines)
    rows = []
    for line in lines:
        project_id = projects.get(("p", line.get("p"))) or projects.get(("k", line.get("k")))
        project_id = project_id or projects.get(("f", line.get("f"))) or projects.get(("g", line.get("g")))
        project_id = project_id or projects.get(("mu", line.get("mu")))
        if project_id is None:
            continue
        rows.append(
            ApiLogLine(
                id=uuid.UUID(line["i"]),
                project_id=project_id,
                created_at=datetime.fromtimestamp(line["t"], UTC),
                api=line["a"],
                method=line["m"],
                path=line["u"],
                status=line["s"],
                duration_ms=line["d"],
                public_key=line.get("k", ""),
                key_label=line.get("l", ""),
                ip=line.get("ip"),
                user_agent=line.get("ua", ""),
                error=line.get("e", ""),
            )
        )
    try:
        ApiLogLine.objects.bulk_create(rows, ignore_conflicts=True)  # a batch drained twice: same ids
    except DatabaseError:
        # Rare: a project purged between the lookup and the insert. Lines are best effort.
        log.warning("API log batch of %d lines not written", len(rows), exc_info=True)
        return 0
    return len(rows)


def _projects_of(lines: list[dict]) -> dict[tuple[str, str], uuid.UUID]:
    """("p", project id) / ("k", public key) / ("f", file UUID) / ("g", group id) / ("mu", multipart or
    tus upload UUID) -> live project id."""
    ids = {line["p"] for line in lines if line.get("p")}
    keys = {line["k"] for line in lines if line.get("k") and not line.get("p")}
    files = {line["f"] for line in lines if line.get("f")}
    groups = {line["g"] for line in lines if line.get("g")}
    uploads = {line["mu"] for line in lines if line.get("mu") and not line.get("p")}
    found: dict[tuple[str, str], uuid.UUID] = {}
    if ids or keys:
        live = Project.objects.live().filter(Q(pk__in=ids) | Q(public_key__in=keys)).order_by()
        for pk, public_key in live.values_list("pk", "public_key"):
            found["p", str(pk)] = found["k", public_key] = pk
    if files:
        rows = File.objects.filter(uuid__in=files, project__deleted_at__isnull=True).order_by()
        found.update((("f", str(pk)), project) for pk, project in rows.values_list("uuid", "project_id"))
    if groups:
        rows = Group.objects.filter(id__in=groups, project__deleted_at__isnull=True).order_by()
        found.update((("g", pk), project) for pk, project in rows.values_list("id", "project_id"))
    if uploads:
        rows = MultipartUpload.objects.filter(uuid__in=uploads, project__deleted_at__isnull=True).order_by()
        found.update((("mu", str(pk)), project) for pk, project in rows.values_list("uuid", "project_id"))
    return found


def api_log_purge(*, batch: int = 5000, batches: int = 20) -> int:
    """Deletes rows older than FILEDOCK_API_LOG_DAYS, at most `batch` × `batches` per run."""
    cutoff = timezone.now() - timedelta(days=settings.FILEDOCK_API_LOG_DAYS)
    deleted = 0
    for _ in range(batches):
        ids = list(ApiLogLine.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch])
        if not ids:
            break
        deleted += ApiLogLine.objects.filter(pk__in=ids).delete()[0]
    return deleted


# Reading the log

STATUS_CLASSES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}


def api_log_lines(
    *,
    project: Project,
    api: str = "",
    method: str = "",
    status: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ApiLogLine]:
    """The project's lines narrowed by API, method, status class ("4xx") and time; unordered."""
    lines = ApiLogLine.objects.filter(project=project)
    if api:
        lines = lines.filter(api=api)
    if method:
        lines = lines.filter(method=method)
    if status in STATUS_CLASSES:
        low, high = STATUS_CLASSES[status]
        lines = lines.filter(status__gte=low, status__lt=high)
    if since:
        lines = lines.filter(created_at__gte=since)
    if until:
        lines = lines.filter(created_at__lt=until)
    return lines


def api_log_page(lines: QuerySet[ApiLogLine], *, before: str = "", size: int = PAGE_SIZE):
    """One page newest first after the cursor `before` (an invalid one starts over); the rows and the
    next page's cursor."""
    try:
        position = cursor_decode(before, parse_pk=uuid.UUID) if before else None
    except InvalidCursor:
        position = None
    page = take(NEWEST_FIRST.seek(lines, position), size)
    return page.rows, cursor_encode(NEWEST_FIRST.position_of(page.rows[-1])) if page.more else None


EXPORT_FIELDS = (
    "id", "created_at", "api", "method", "path", "status", "duration_ms",
    "public_key", "key_label", "ip", "user_agent", "error",
)  # fmt: skip


def api_log_record(line: ApiLogLine) -> dict:
    """A line as an export's record: plain values, the time in ISO 8601."""
    values = {name: getattr(line, name) for name in EXPORT_FIELDS}
    values["id"], values["created_at"] = str(line.id), line.created_at.isoformat()
    return values
