"""Django's Redis cache, with one redis client per connection pool instead of one per command.

Django's RedisCacheClient builds a `redis.Redis` for every get, set or incr: about 0.15 ms of CPU
each (its table of response callbacks), four times in a REST API request (the failed-auth limit,
the throttle's read and write, the list's totals). A client over a pool is thread-safe, so each
process keeps one per pool.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClients(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClients
