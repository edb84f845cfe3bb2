"""The CDN's own origin. With a full-URL CDN_BASE, requests for the CDN's host are routed to the
CDN's URLs at the root of that host; on any other host, links under the old `/cdn/` path redirect
there, so uploaded bytes are never served from the dashboard's origin."""

import functools
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponsePermanentRedirect

from core.redisconn import sending_later

CDN_URLCONF = "config.cdn_urls"
LEGACY_CDN_PATH = "/cdn/"  # where the CDN lived on the dashboard's origin before it had its own
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@functools.cache
def cdn_hosts(origin: str, loopback_aliases: bool) -> frozenset[str]:
    """The Host values that mean the CDN: its origin's, and with `loopback_aliases` (the embedded
    run, whose CDN has a port of its own) every loopback name for that port: `make run` hands out
    127.0.0.1:8001, and a browser may say localhost:8001."""
    netloc = urlsplit(origin).netloc.lower()
    host, _, port = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    if loopback_aliases and host in LOOPBACK_NAMES:
        return frozenset(f"{name}:{port}" if port else name for name in LOOPBACK_NAMES)
    return frozenset([netloc])


class CdnOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.CDN_ORIGIN:
            if request.get_host().lower() in cdn_hosts(settings.CDN_ORIGIN, settings.CDN_LOOPBACK_ALIASES):
                request.urlconf = CDN_URLCONF
            elif request.path.startswith(LEGACY_CDN_PATH):
                query = request.META.get("QUERY_STRING", "")
                target = settings.CDN_BASE + request.path[len(LEGACY_CDN_PATH) :] + (f"?{query}" if query else "")
                return HttpResponsePermanentRedirect(target)
        return self.get_response(request)


class SendLaterMiddleware:
    """A request's deferred Redis commands (core.redisconn.send_later: its relay wake-up, usage
    counts, API log line) go in one round trip as it ends, before its answer leaves. Outermost
    but for SecurityMiddleware, so the API log line, buffered on the way out, is among them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with sending_later():
            return self.get_response(request)
