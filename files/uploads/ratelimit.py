"""Upload API request limits: per client address, then per public key, counted in Django's cache.

Fixed one-period windows (Redis in production, so every web process shares the counts). Past a
limit the answer is 429 with Retry-After (the seconds left in the window) and the Upload API's
usual error body: plain text, or `{"error": {...}}` with status 200 when the client asks for
`jsonerrors=1`.

With Redis, one Lua script counts a request against both limits in a single round trip. Any other
cache (the embedded run's local memory, the test settings) is counted through the cache API.
"""

import logging
import time
from dataclasses import dataclass
from functools import wraps
from weakref import WeakKeyDictionary

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse

from accounts.audit import client_ip
from files import errors

log = logging.getLogger(__name__)
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# KEYS: one counter per limit, in order; ARGV: each one's limit and seconds to keep, in pairs.
# Counts the request against each limit in turn and stops at the first one it is over (returning
# its position, from 1), so a request refused by one limit is not counted against the next.
# Returns 0 when the request is under every limit.
COUNT_SCRIPT = """
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[2 * i]) end
  if count > tonumber(ARGV[2 * i - 1]) then return i end
end
return 0
"""
# One registered script per cache object (Django makes one per thread): building a redis client
# is dearer than the round trip, and Django's RedisCache builds one for every command.
_scripts: WeakKeyDictionary = WeakKeyDictionary()


@dataclass
class Window:
    """The current window of one limit: its cache key and when it ends."""

    key: str
    limit: int
    period: int
    ends: float


def parse_rate(rate: str) -> tuple[int, int]:
    """`count/period`, the period s, min, hour or day (first letter counts): (count, seconds)."""
    count, _, period = rate.partition("/")
    try:
        return int(count), PERIODS[period.strip()[:1]]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"A rate must look like 600/min, got {rate!r}.") from None


def window(scope: str, rate: str, now: float) -> Window:
    limit, period = parse_rate(rate)
    number = int(now // period)
    return Window(f"ratelimit:{scope}:{number}", limit, period, (number + 1) * period)


def seconds_to_wait(*limits: tuple[str, str]) -> int:
    """Counts one request against each `(scope, rate)` in turn, stopping at the first one it is
    over: 0 while under every rate, else the seconds left in that one's window.

    Fails open: with the cache (Redis) away, uploads go on uncounted rather than failing.
    """
    now = time.time()
    windows = [window(scope, rate, now) for scope, rate in limits]
    cache = caches["default"]
    try:
        over = _count_in_redis(cache, windows) if isinstance(cache, RedisCache) else _count_in_cache(cache, windows)
    except Exception as error:  # the cache backend's own connection errors
        scopes = ", ".join(scope.partition(":")[0] for scope, _ in limits)
        log.warning("rate limit cache unavailable, %s not counted: %s", scopes, error)
        return 0
    return 0 if over is None else max(1, int(over.ends - now + 0.999))


def _count_in_redis(cache: RedisCache, windows: list[Window]) -> Window | None:
    """One round trip (EVALSHA) for every limit; keys as Django's cache names them."""
    script = _scripts.get(cache)
    if script is None:
        # Django's RedisCache has no public way to the client: `_cache` is its RedisCacheClient.
        script = _scripts[cache] = cache._cache.get_client(write=True).register_script(COUNT_SCRIPT)
    args = [value for w in windows for value in (w.limit, w.period + 1)]
    over = script(keys=[cache.make_key(w.key) for w in windows], args=args)
    return windows[over - 1] if over else None


def _count_in_cache(cache, windows: list[Window]) -> Window | None:
    """Any other cache: an increment per limit (the first request of a window adds the key)."""
    for w in windows:
        try:
            count = cache.incr(w.key)
        except ValueError:  # the window's first request
            count = 1 if cache.add(w.key, 1, timeout=w.period + 1) else cache.incr(w.key)
        if count > w.limit:
            return w
    return None


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
    # Before the view: the body is read only if the view itself would read it.
    response = errors.error_response(request, errors.throttled(wait), form=_form(request))
    response["Retry-After"] = str(wait)
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def upload_rate_limit(view):
    """Limits an Upload API view per client address (FILEDOCK_RATE_UPLOAD_IP), then per public key
    (FILEDOCK_RATE_UPLOAD): a request refused for its address is not counted against its key.
    Goes above `upload_endpoint`; CORS preflights are not counted."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "OPTIONS":
            limits = [(f"upload-ip:{client_ip(request)}", settings.FILEDOCK_RATE_UPLOAD_IP)]
            public_key = _public_key(request)
            if public_key:
                limits.append((f"upload-key:{public_key}", settings.FILEDOCK_RATE_UPLOAD))
            wait = seconds_to_wait(*limits)
            if wait:
                return _throttled(request, wait)
        return view(request, *args, **kwargs)

    return wrapper
