"""Request limits counted in Django's cache: fixed one-period windows, shared by every process
through Redis in production.

`seconds_to_wait` counts a request against several limits at once (with Redis in one round trip,
one Lua script; `seconds_to_wait_adding` adds a count to a hash in it too); `admit` raises
Throttled instead; `waiting` only looks, counting nothing (for limits on failures, which count
only once a failure has happened). All of them fail open: with the cache away, requests go on
uncounted rather than failing.
"""

import logging
import time
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# KEYS: one counter per limit, in order; ARGV: each one's limit and seconds to keep, in pairs.
# Counts the request against each limit in turn and stops at the first one it is over (returning
# its position, from 1), so a request refused by one limit is not counted against the next.
# Returns 0 when the request is under every limit. The two variants below take one more key, last.
_COUNT = """
for i = 1, #KEYS - EXTRA do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[2 * i]) end
  if count > tonumber(ARGV[2 * i - 1]) then return OVER end
end
"""
COUNT_SCRIPT = _COUNT.replace("EXTRA", "0").replace("OVER", "i") + "return 0\n"
# Once the request is under every limit, HINCRBY of the last key (a hash), ARGV's last pair its
# field and amount: a count that goes with each request let through (billing.metering's pending
# usage), in the rate limit's round trip.
COUNT_THEN_ADD_SCRIPT = (
    _COUNT.replace("EXTRA", "1").replace("OVER", "i")
    + "redis.call('HINCRBY', KEYS[#KEYS], ARGV[#ARGV - 1], ARGV[#ARGV])\nreturn 0\n"
)
# Answers {position or 0, the last key's value}: a value read with the count (a core.kept token).
COUNT_THEN_READ_SCRIPT = (
    _COUNT.replace("EXTRA", "1").replace("OVER", "{i, redis.call('GET', KEYS[#KEYS])}")
    + "return {0, redis.call('GET', KEYS[#KEYS])}\n"
)
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

    Fails open: with the cache (Redis) away, requests go on uncounted rather than failing.
    """
    return _counted(limits, COUNT_SCRIPT)[0]


def seconds_to_wait_adding(*limits: tuple[str, str], add: tuple[str, str, int]) -> tuple[int, bool]:
    """`seconds_to_wait`, and when the request is under every limit, `add` = (hash, field,
    amount) added to that Redis hash (a key as named, not the cache's) in the same round trip:
    (seconds, whether it was added). Without Redis, or with it away, nothing is added: the
    caller counts the other way."""
    wait, answer = _counted(limits, COUNT_THEN_ADD_SCRIPT, add[0], [add[1], add[2]])
    return wait, answer is not None and not wait


def seconds_to_wait_reading(*limits: tuple[str, str], read: str) -> tuple[int, int | None]:
    """`seconds_to_wait`, and the integer the cache holds under `read` (a core.kept token) in the
    same round trip: (seconds, the integer or None). Without Redis, or with it away: None."""
    wait, answer = _counted(limits, COUNT_THEN_READ_SCRIPT, caches["default"].make_key(read))
    return wait, (int(answer[1]) if answer is not None and answer[1] is not None else None)


def _counted(limits, source: str, key: str | None = None, args: tuple | list = ()) -> tuple[int, object | None]:
    """The limits counted: with Redis by the script `source` in one round trip (EVALSHA; keys as
    Django's cache names them, then `key` and `args` when given), else in the cache one by one.
    Returns (seconds to wait, the script's answer: None without Redis or with it away)."""
    now = time.time()
    windows = [window(scope, rate, now) for scope, rate in limits]
    cache = caches["default"]
    try:
        if isinstance(cache, RedisCache):
            # Django's RedisCache has no public way to the client: `_cache` is its RedisCacheClient.
            answer = _script(cache, source)(
                keys=[*(cache.make_key(w.key) for w in windows), *([key] if key is not None else [])],
                args=[*(value for w in windows for value in (w.limit, w.period + 1)), *args],
            )
            position = answer[0] if isinstance(answer, list) else answer
            over = windows[position - 1] if position else None
        else:
            answer, over = None, _count_in_cache(cache, windows)
    except Exception as error:  # the cache backend's own connection errors
        scopes = ", ".join(scope.partition(":")[0] for scope, _ in limits)
        log.warning("rate limit cache unavailable, %s not counted: %s", scopes, error)
        return 0, None
    return (0 if over is None else max(1, int(over.ends - now + 0.999))), answer


def _script(cache: RedisCache, source: str):
    """One registered script per cache object and source (see _scripts)."""
    scripts = _scripts.setdefault(cache, {})
    if (script := scripts.get(source)) is None:
        script = scripts[source] = cache._cache.get_client(write=True).register_script(source)
    return script


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


class Throttled(Exception):
    """Over a limit: try again in `wait` seconds."""

    def __init__(self, wait: int):
        super().__init__(f"Too many requests. Try again in {wait} second{'s' if wait != 1 else ''}.")
        self.wait = wait


def admit(*limits: tuple[str, str]) -> None:
    """Counts one request against each `(scope, rate)`; raises Throttled when over one."""
    wait = seconds_to_wait(*limits)
    if wait:
        raise Throttled(wait)


def waiting(scope: str, rate: str) -> int:
    """The seconds left while `scope` is over `rate` in the current window, without counting."""
    return waiting_reading(scope, rate, ())[0]


def waiting_reading(scope: str, rate: str, keys: tuple[str, ...]) -> tuple[int, dict]:
    """`waiting`, with the cache's values of `keys` read in the same round trip: (seconds, the
    values found by key). With the cache away: (0, {})."""
    now = time.time()
    current = window(scope, rate, now)
    try:
        found = caches["default"].get_many([current.key, *keys])
    except Exception as error:  # the cache backend's own connection errors
        log.warning("rate limit cache unavailable, %s not checked: %s", scope.partition(":")[0], error)
        return 0, {}
    count = found.pop(current.key, 0)
    return (max(1, int(current.ends - now + 0.999)) if count >= current.limit else 0), found
