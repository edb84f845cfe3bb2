from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.defaults import page_not_found


@never_cache
def healthz(request):
    """Liveness for load balancers: the database, and Redis when one is configured."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


RETRY_AFTER_SECONDS = 60


def too_many_requests(request):
    """allauth's rate limits (login, signup, password reset) answer through here (`handler429`):
    429 with Retry-After. The limits count per minute, so a minute is the honest hint."""
    response = HttpResponse(
        "<!doctype html><title>Too many requests</title><h1>Too many requests</h1>"
        "<p>Please wait a minute and try again.</p>",
        status=429,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page's icon link says. Resolved per request: the
    static file's hashed name is only known once collectstatic has written its manifest."""
    return HttpResponsePermanentRedirect(static("img/logo.svg"))


REST_MEDIA_TYPE = "application/vnd.uploadcare"


def not_found(request, exception=None):
    """A 404: JSON in the REST API's shape for a request that speaks it (the official clients send
    its Accept header, and the API's own mount says so), else the dashboard's page."""
    api = urlsplit(settings.API_BASE).path
    accept = request.headers.get("Accept", "")
    if REST_MEDIA_TYPE in accept or (api != "/" and request.path.startswith(api)):
        # In the media type the client asked for, as the API's other answers are.
        media_type = "application/vnd.uploadcare-v0.7+json" if REST_MEDIA_TYPE in accept else "application/json"
        return JsonResponse({"detail": "Not found."}, status=404, content_type=media_type)
    return page_not_found(request, exception)
