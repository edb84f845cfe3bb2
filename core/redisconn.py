"""The one Redis client for buffers that spare the database a write per request (traffic counts,
API log lines), and the key names they use. None when no Redis is configured (the embedded run):
each user then has its own fallback."""

import functools

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
