"""The production cache backend: Django's Redis cache with its redis client built once per pool."""

import uuid

from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from core import ratelimit
from core.cache import RedisCache


def test_the_cache_works_on_redis_with_one_client_for_every_command():
    cache = RedisCache(settings.REDIS_URL, {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}})
    key = f"test-cache:{uuid.uuid4().hex}"
    try:
        assert cache.get(key) is None
        cache.set(key, {"totals": [1, 2]}, 30)
        assert cache.get(key) == {"totals": [1, 2]}
        assert cache.add(key, "other") is False
        cache.set(f"{key}:n", 1, 30)
        assert cache.incr(f"{key}:n", 5) == 6
        assert cache._cache.get_client(write=True) is cache._cache.get_client(write=False) is cache._cache.get_client()
        # Still Django's RedisCache, which core.ratelimit counts in with one Lua script.
        assert isinstance(cache, DjangoRedisCache)
    finally:
        cache.delete_many([key, f"{key}:n"])


def test_rate_limits_count_through_it(settings):
    settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": settings.REDIS_URL}}
    from django.core.cache import caches

    scope = f"test-cache-limit:{uuid.uuid4().hex}"  # its own keys, which expire: the Redis is shared
    assert isinstance(caches["default"], RedisCache)
    assert ratelimit.seconds_to_wait((scope, "2/m")) == 0
    assert ratelimit.seconds_to_wait((scope, "2/m")) == 0
    assert ratelimit.seconds_to_wait((scope, "2/m")) > 0
