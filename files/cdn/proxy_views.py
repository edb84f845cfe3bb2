"""The proxy endpoint (the project's Proxy settings page is files.dashboard.proxy).

Endpoint URLs (under PROXY_BASE):

    {public_key}/{remote_url}                                  the remote file, as fetched
    {public_key}/-/preview/200x200/{remote_url}                an image operation chain, as on the
    {public_key}/-/resize/100x/-/format/webp/{remote_url}      CDN, before the remote URL

`remote_url` starts at the first `http:` or `https:` path segment (`https:/host/...` with the
double slash collapsed by a client or server is accepted too); the request's query string goes
to the origin with it. Answers: unknown public key 404, host not allowed or SSRF refusal 403,
bad operations 400, file too large 413, origin failure (network, time limit, any non-2xx status,
404 included) 502.

Traffic: every GET that delivers bytes counts toward the project's traffic — the Content-Length
sent (a Range counts its part), or the whole size when nginx or S3 sends the bytes. A request
cut short still counts in full; a 304 counts nothing. Fetching from the origin is not counted.
"""

import re
from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit

from django.core.files.storage import default_storage
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.http import parse_http_date_safe

from billing.metering import traffic_add
from core import delivery, ratelimit
from files.cdn import images, proxy
from files.cdn import views as cdn
from files.content import clean_filename
from files.models import ProxiedFile
from projects.models import Project

REMOTE = re.compile(r"(?:^|(?<=/))(https?):/{1,2}", re.IGNORECASE)
PATH_SAFE = "/:@!$&'()*+,;=-._~"


# The endpoint


@delivery.public
def proxy_view(request: HttpRequest, public_key: str, rest: str) -> HttpResponseBase:
    project = Project.objects.live().filter(public_key=public_key).first()
    if project is None:
        return delivery.plain(404, "Unknown public key.")
    try:
        ops, url = split_path(rest, request.META.get("QUERY_STRING", ""))
        proxy.check_host(project, url)
        plan = _plan(ops)
    except proxy.ProxyError as exc:
        return delivery.plain(exc.status, exc.message)
    except ValueError as exc:
        return delivery.plain(400, str(exc))
    admit = cdn.misses(request, project.pk)
    try:
        proxied = proxy.proxy_fetch(project=project, url=url, admit=admit)
    except proxy.ProxyError as exc:
        return delivery.plain(exc.status, exc.message)
    except ratelimit.Throttled as exc:
        return cdn.throttled(exc)
    on_sent = _traffic(project)
    if plan is None:
        return _original(request, proxied, on_sent)
    return _rendering(request, proxied, plan, on_sent, admit)


def split_path(rest: str, query: str) -> tuple[str, str]:
    """(operations, remote URL) from the path after the public key; raises ValueError."""
    match = REMOTE.search(rest)
    if match is None:
        raise ValueError(
            "Expected a remote URL after the public key, e.g. /proxy/{public_key}/https://example.com/a.png"
        )
    ops, remainder = rest[: match.start()], rest[match.end() :]
    if ops and not ops.startswith("-/"):
        raise ValueError("Operations go between the public key and the remote URL: -/resize/100x/https://...")
    host, _, path = remainder.partition("/")
    if not host:
        raise ValueError("The remote URL has no host.")
    # Django hands over the path decoded; encode it again for the origin.
    url = f"{match.group(1).lower()}://{host}/{quote(path, safe=PATH_SAFE)}"
    return ops, f"{url}?{query}" if query else url


def _plan(ops: str) -> images.Plan | None:
    if not ops:
        return None
    plan, filename = images.parse(ops)
    if filename:
        raise ValueError(f"Unexpected {filename!r}: operations look like -/name/params/.")
    return plan


def _original(request: HttpRequest, proxied: ProxiedFile, on_sent: Callable[[int], None]) -> HttpResponseBase:
    headers = _headers(proxied, etag=f'"{proxied.version}"', mime_type=proxied.mime_type, filename=_name(proxied))
    return delivery.not_modified(request, headers) or delivery.deliver(
        request, key=proxied.storage_key, size=proxied.size, headers=headers, storage=default_storage, on_sent=on_sent
    )


def _rendering(
    request: HttpRequest, proxied: ProxiedFile, plan: images.Plan, on_sent: Callable[[int], None], admit
) -> HttpResponseBase:
    if not proxied.is_image:
        return delivery.plain(
            415, "The remote file is not an image this server can read, so it has no image operations."
        )
    accepts = images.accepted(request.META.get("HTTP_ACCEPT", ""))
    output = images.output_of(plan, proxied.image_info, accepts)
    name = images.rendering_filename(_name(proxied), output)
    headers = _headers(proxied, etag=f'"{proxied.version}-{output.tag}"', mime_type=output.mime_type, filename=name)
    if plan.format == "auto":
        headers["Vary"] = "Accept"
    return delivery.not_modified(request, headers) or cdn.rendered(
        request,
        lambda: images.rendering_get_or_create(source=proxied, plan=plan, accepts=accepts, admit=admit),
        headers=headers,
        on_sent=on_sent,
        undecodable=lambda: delivery.plain(415, "The remote file could not be decoded as an image."),
    )


def _headers(proxied: ProxiedFile, *, etag: str, mime_type: str, filename: str) -> dict[str, str]:
    # Browsers and caches may keep it as long as this server does before revalidating.
    fresh = max(0, int((proxied.revalidate_after - timezone.now()).total_seconds()))
    modified = parse_http_date_safe(proxied.last_modified) or proxied.fetched_at.timestamp()
    return delivery.delivery_headers(
        etag=etag,
        mime_type=mime_type,
        filename=filename,
        last_modified=modified,
        cache_control=f"public, max-age={fresh}",
    )


def _name(proxied: ProxiedFile) -> str:
    return clean_filename(unquote(urlsplit(proxied.url).path.rsplit("/", 1)[-1]))


def _traffic(project: Project) -> Callable[[int], None]:
    """Counts the bytes sent toward the project's traffic for the day; fetching is not counted."""
    return lambda sent: traffic_add(project_id=project.pk, sent=sent)
