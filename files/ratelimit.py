"""Upload API request limits: per public key and per client address, counted in Django's cache.

Fixed one-period windows (Redis in production, so every web process shares the counts). Past a
limit the answer is 429 with Retry-After (the seconds left in the window) and the Upload API's
usual error body: plain text, or `{"error": {...}}` with status 200 when the client asks for
`jsonerrors=1`.
"""

import logging
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse

from accounts.audit import client_ip

log = logging.getLogger(__name__)
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`count/period`, the period s, min, hour or day (first letter counts): (count, seconds)."""
    count, _, period = rate.partition("/")
    try:
        return int(count), PERIODS[period.strip()[:1]]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"A rate must look like 600/min, got {rate!r}.") from None


def seconds_to_wait(scope: str, rate: str) -> int:
    """Counts one request against `scope`; 0 while under the rate, else the seconds left in the window.

    Fails open: with the cache (Redis) away, uploads go on uncounted rather than failing.
    """
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"ratelimit:{scope}:{window}"
    try:
        try:
            count = cache.incr(key)  # one round trip for every request of a window but its first
        except ValueError:  # the window's first request
            count = 1 if cache.add(key, 1, timeout=period + 1) else cache.incr(key)
    except Exception as error:  # the cache backend's own connection errors
        log.warning("rate limit cache unavailable, %s not counted: %s", scope.partition(":")[0], error)
        return 0
    return 0 if count <= limit else max(1, int((window + 1) * period - now + 0.999))


def _form(request) -> dict:
    """The POST fields, parsed only for bodies the views themselves read (they refuse larger ones)."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    readable = length.isdigit() and int(length) <= settings.FILEDOCK_DIRECT_UPLOAD_MAX_SIZE + 64 * 1024
    return request.POST if request.method == "POST" and readable else {}


def _public_key(request) -> str:
    form = _form(request)
    key = request.GET.get("pub_key") or form.get("UPLOADCARE_PUB_KEY") or form.get("pub_key") or ""
    return "".join(c for c in key if c.isascii() and c.isalnum())[:64]  # public keys are hex; a cache key must be clean


def _throttled(request, wait: int) -> HttpResponse:
    message = f"Request was throttled. Expected available in {wait} second{'s' if wait != 1 else ''}."
    if (request.GET.get("jsonerrors") or _form(request).get("jsonerrors")) == "1":
        body = {"error": {"content": message, "status_code": 429, "error_code": "RequestThrottledError"}}
        response = JsonResponse(body, status=200)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def upload_rate_limit(view):
    """Limits an Upload API view per client address (FILEDOCK_RATE_UPLOAD_IP), then per public key
    (FILEDOCK_RATE_UPLOAD). Goes above `upload_endpoint`; CORS preflights are not counted."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "OPTIONS":
            wait = seconds_to_wait(f"upload-ip:{client_ip(request)}", settings.FILEDOCK_RATE_UPLOAD_IP)
            public_key = _public_key(request) if not wait else ""
            if public_key:
                wait = seconds_to_wait(f"upload-key:{public_key}", settings.FILEDOCK_RATE_UPLOAD)
            if wait:
                return _throttled(request, wait)
        return view(request, *args, **kwargs)

    return wrapper
