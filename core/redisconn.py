"""The one Redis client for buffers that spare the database a write per request (traffic counts,
API log lines), and the key names they use. None when no Redis is configured (the embedded run):
each user then has its own fallback."""

import functools
import uuid
from collections.abc import Iterator

import redis
from django.conf import settings
from django.db import connection


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> redis.Redis | None:
    return _client_for(settings.REDIS_URL) if settings.REDIS_URL else None


def redis_key(kind: str, rest: str) -> str:
    # Named after the database, so two installations (or test runs) sharing a Redis never mix.
    return f"filedock:{connection.settings_dict['NAME']}:{kind}{rest}"


def batches_to_apply(client: redis.Redis, *, pending: str, taken: str) -> Iterator[str]:
    """The keys a periodic flush applies, then deletes: first those a crashed run left under
    `taken`, then each key under `pending` renamed to a batch of its own (`taken` + the pending
    key's suffix + ":" + a new id). RENAME is atomic: a key another run took first is skipped, and
    what arrives after the rename goes to a new pending key, never into a batch being applied."""
    for key in client.scan_iter(match=redis_key(taken, "*"), count=1000):
        yield key.decode()
    for key in client.scan_iter(match=redis_key(pending, "*"), count=1000):
        suffix = key.decode().removeprefix(redis_key(pending, ""))
        batch = redis_key(taken, f"{suffix}:{uuid.uuid4().hex}" if suffix else uuid.uuid4().hex)
        try:
            client.rename(key, batch)
        except redis.ResponseError:  # taken by another run meanwhile
            continue
        yield batch
