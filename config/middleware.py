"""The CDN's own origin. With a full-URL CDN_BASE, requests for the CDN's host are routed to the
CDN's URLs at the root of that host; on any other host, links under the old `/cdn/` path redirect
there, so uploaded bytes are never served from the dashboard's origin."""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponsePermanentRedirect

CDN_URLCONF = "config.cdn_urls"
LEGACY_CDN_PATH = "/cdn/"  # where the CDN lived on the dashboard's origin before it had its own


class CdnOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.CDN_ORIGIN:
            if request.get_host().lower() == urlsplit(settings.CDN_ORIGIN).netloc.lower():
                request.urlconf = CDN_URLCONF
            elif request.path.startswith(LEGACY_CDN_PATH):
                query = request.META.get("QUERY_STRING", "")
                target = settings.CDN_BASE + request.path[len(LEGACY_CDN_PATH) :] + (f"?{query}" if query else "")
                return HttpResponsePermanentRedirect(target)
        return self.get_response(request)
