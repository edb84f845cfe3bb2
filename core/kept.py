"""Rows a process keeps between requests, for as long as the shared cache says they are current.

Every REST call reads its project's keys, and every upload its project, by public key. A process
may keep what it read, under the token the shared cache (Redis) held for that public key when it
read it, and use it again while the token is the same (the caller reads the token in a round trip
it makes anyway: the failed-auth limit, the upload rate limit). Whatever changes a project, its
keys or its storage calls `changed`, which replaces the token: every process reads again on its
next request. Rows are kept at most SECONDS, so even a replacement lost while Redis was away ages
out. Without a shared cache nothing is kept.

Tokens are integers: Django's Redis cache stores them as they are, so a Lua script or a pipeline
on the same Redis can read them too (core.ratelimit).
"""

import logging
import secrets
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

log = logging.getLogger(__name__)
SECONDS = 60
NOT_READ = object()  # a caller that read no token: nothing kept is used, nothing is kept
MOST = 10_000  # public keys kept per process and kind; past it, all are dropped


def token_key(public_key: str) -> str:
    """The shared cache's key of the token rows kept for `public_key` were read under."""
    return f"kept-token:{public_key}"


def shared() -> RedisCache | None:
    cache = caches["default"]
    return cache if isinstance(cache, RedisCache) else None


class Kept:
    """One kind of rows kept by public key (a project's keys; a project with its storage)."""

    def __init__(self):
        self._rows: dict[str, tuple[int, float, object]] = {}

    def get(self, public_key: str, token) -> object | None:
        """What was kept for `public_key` under `token`, if it still is current."""
        if token is None or (kept := self._rows.get(public_key)) is None:
            return None
        kept_token, read_at, value = kept
        return value if kept_token == token and time.monotonic() - read_at < SECONDS else None

    def put(self, public_key: str, token, value: object, read_at: float) -> None:
        """Keeps `value`, read from the database at `read_at` (time.monotonic(), taken before the
        read) after the cache gave `token`. No token yet: one is started, and the next read keeps."""
        if token is None:
            _start(public_key)
            return
        if len(self._rows) >= MOST:
            self._rows.clear()
        self._rows[public_key] = (token, read_at, value)


def changed(public_key: str) -> None:
    """The project of `public_key`, its keys or its storage changed: every process reads them again.

    A new token now, and again once the change commits: a request between the two reads the rows
    as they were and keeps them under the first new token, which the second replaces."""
    _replace(public_key)
    transaction.on_commit(lambda: _replace(public_key), robust=True)


def _replace(public_key: str) -> None:
    if (cache := shared()) is not None:
        try:
            cache.set(token_key(public_key), secrets.randbits(62), timeout=None)
        except Exception as error:  # the cache backend's own: requests read the database meanwhile,
            # and rows another process keeps age out within SECONDS
            log.warning("kept rows' token not replaced: %s", error)


def _start(public_key: str) -> None:
    if (cache := shared()) is not None:
        try:
            cache.add(token_key(public_key), secrets.randbits(62), timeout=None)
        except Exception as error:  # the cache backend's own connection errors: nothing is kept
            log.warning("kept rows' token not started: %s", error)
