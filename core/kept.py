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
from collections.abc import Callable

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

log = logging.getLogger(__name__)
SECONDS = 60
NOT_READ = object()  # a caller that read no token: nothing kept is used, nothing is kept
MOST = 10_000  # public keys kept per process and kind; past it, all are dropped
PUBLIC_KEY_MAX = 64


def token_key(public_key: str) -> str | None:
    """The shared cache's key of the token rows kept for `public_key` were read under; None for a
    string that cannot be a public key (ASCII letters and digits, at most PUBLIC_KEY_MAX), which
    would only make a cache key of its own (Django warns of long keys and of spaces in them)."""
    plausible = public_key.isascii() and public_key.isalnum() and len(public_key) <= PUBLIC_KEY_MAX
    return f"kept-token:{public_key}" if plausible else None


def shared() -> RedisCache | None:
    cache = caches["default"]
    return cache if isinstance(cache, RedisCache) else None


class Kept:
    """One kind of rows kept by public key (a project's keys; a project with its storage)."""

    def __init__(self):
        self._rows: dict[str, tuple[int, float, object]] = {}

    def read(self, public_key: str, token, load: Callable[[], object | None]) -> object | None:
        """What `load` reads from the database for `public_key` (None: nothing, and nothing kept),
        or what this process kept of it under `token`, the one the cache holds now. NOT_READ:
        the caller read no token, so `load` runs and nothing is kept. None: the cache holds no
        token yet; one is started, and the next read keeps."""
        if token is not NOT_READ and token is not None and (kept := self._rows.get(public_key)) is not None:
            kept_token, read_at, value = kept
            if kept_token == token and time.monotonic() - read_at < SECONDS:
                return value
        read_at = time.monotonic()  # before the read: a change committed during it ages it out
        value = load()
        if value is None or token is NOT_READ:
            return value
        if token is None:
            _start(public_key)
        else:
            if len(self._rows) >= MOST:
                self._rows.clear()
            self._rows[public_key] = (token, read_at, value)
        return value


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
