"""The Upload API's request limits on both kinds of cache: Redis (production: one round trip per
request for both limits) and local memory (the embedded run and the test settings).

429 + Retry-After and the error shapes are in tests/security/test_hardening.py; Redis stopped in
the middle of an upload burst is in tests/faults/test_upload_faults.py.
"""

import logging
import time

import pytest
import redis
from django.core.cache import caches
from django.core.files.base import ContentFile

from bench.harness import free_port
from core.ratelimit import seconds_to_wait
from tests.faults.processes import RedisServer
from tests.helpers import wait_until


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()  # our own: its command counts are ours alone
    server.start()
    yield server
    server.stop_quietly()


def _redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "core.cache.RedisCache",  # as production sets it
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.fixture
def redis_cache(settings, redis_server):
    """Limits counted in our own Redis, empty."""
    settings.CACHES = _redis_cache(redis_server.url)
    caches["default"].clear()
    yield redis.Redis.from_url(redis_server.url)
    caches["default"].clear()


@pytest.fixture(params=["redis", "locmem"])
def limiter(request, settings):
    """Each cache the limits are counted in, empty."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        caches["default"].clear()
    return request.param


def _counted(scope: str, period: int = 60) -> int:
    """Requests counted against `scope` in this window and the one before (a test may straddle two)."""
    number = int(time.time() // period)
    return sum(caches["default"].get(f"ratelimit:{scope}:{n}", 0) for n in (number - 1, number))


def _info(client, project, **extra):
    return client.get("/upload/info/", {"pub_key": project.public_key, "file_id": "nope"}, **extra)


def test_a_request_is_counted_per_address_and_per_key(client, team, settings, limiter):
    _info(client, team.project)
    _info(client, team.project, REMOTE_ADDR="127.0.0.2")
    assert _counted("upload-ip:127.0.0.1") == 1 and _counted("upload-ip:127.0.0.2") == 1
    assert _counted(f"upload-key:{team.project.public_key}") == 2


def test_the_key_limit_refuses_past_its_rate(client, team, settings, limiter):
    settings.FILEDOCK_RATE_UPLOAD = "2/h"
    assert [_info(client, team.project).status_code for _ in range(2)] == [404, 404]
    response = _info(client, team.project, REMOTE_ADDR="127.0.0.2")  # another address, the same key
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 3600
    other = team.outsider.memberships.get().project
    assert _info(client, other).status_code == 404


def test_a_request_refused_for_its_address_is_not_counted_against_its_key(client, team, settings, limiter):
    settings.FILEDOCK_RATE_UPLOAD_IP = "2/h"
    assert [_info(client, team.project).status_code for _ in range(3)] == [404, 404, 429]
    assert _counted("upload-ip:127.0.0.1", 3600) == 3
    assert _counted(f"upload-key:{team.project.public_key}") == 2  # one address cannot use up a key
    assert _info(client, team.project, REMOTE_ADDR="127.0.0.2").status_code == 404


def test_a_window_ends_and_counting_starts_again(limiter):
    # A window is a second of the clock and its end is the behaviour under test, so this test waits
    # on the clock: the limiter has no other event to wait for.
    assert wait_until(lambda: time.time() % 1 < 0.5, 2)  # both requests in one one-second window
    window = int(time.time())
    assert seconds_to_wait(("test:window", "1/s")) == 0
    assert seconds_to_wait(("test:window", "1/s")) == 1
    assert wait_until(lambda: int(time.time()) > window, 2)  # the next window has begun
    assert seconds_to_wait(("test:window", "1/s")) == 0


def test_redis_counts_both_limits_in_one_round_trip(client, team, redis_cache):
    server = redis_cache
    upload = {"UPLOADCARE_PUB_KEY": team.project.public_key}
    client.post("/upload/base/", {**upload, "file": ContentFile(b"first", name="a.txt")})  # loads the script
    before = server.info("commandstats")
    for n in range(5):
        assert client.post("/upload/base/", {**upload, "file": ContentFile(b"x", name=f"{n}.txt")}).status_code == 200
    after = server.info("commandstats")
    calls = {name: stats["calls"] - before.get(name, {}).get("calls", 0) for name, stats in after.items()}
    calls = {name.removeprefix("cmdstat_"): n for name, n in calls.items() if n}
    # From the web process: one EVALSHA per request (and the INFO that reads these counts); inside
    # it, one INCR per limit and the GET of the project's core.kept token. Nothing else: no EXISTS +
    # INCRBY per limit as Django's cache does, and no SELECT of the project (tests/files/uploads/
    # test_kept_project.py).
    assert calls == {"evalsha": 5, "incr": 10, "get": 5, "info": 1}


def test_redis_keys_expire_with_their_window(client, team, redis_cache):
    _info(client, team.project)
    server = redis_cache
    keys = server.keys("*ratelimit:*")
    assert len(keys) == 2 and all(0 < server.ttl(key) <= 61 for key in keys)  # the test settings: per minute


def test_redis_away_lets_uploads_through_uncounted(client, team, settings, caplog):
    settings.CACHES = _redis_cache(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    settings.FILEDOCK_RATE_UPLOAD = "1/h"
    with caplog.at_level(logging.WARNING, logger="files.uploads.ratelimit"):
        statuses = [
            client.post(
                "/upload/base/",
                {"UPLOADCARE_PUB_KEY": team.project.public_key, "file": ContentFile(b"x", name="a.txt")},
            ).status_code
            for _ in range(2)
        ]
    assert statuses == [200, 200] and team.project.files.count() == 2
    assert "rate limit cache unavailable, upload-ip, upload-key not counted" in caplog.text


def test_redis_restarted_counting_goes_on(client, team, settings, redis_cache, redis_server):
    settings.FILEDOCK_RATE_UPLOAD = "1/h"
    assert _info(client, team.project).status_code == 404
    redis_server.shutdown()
    redis_server.start()  # empty: counts and the loaded script are gone
    statuses = [_info(client, team.project).status_code for _ in range(3)]
    # The first request after the restart may find its pooled connection broken (not counted,
    # let through); then the script is loaded again and the limit holds.
    assert statuses in ([404, 429, 429], [404, 404, 429])
