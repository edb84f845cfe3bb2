import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.harness import free_port
from projects.models import Membership, Project, Role
from projects.services import project_create
from tests.clamd import Clamd
from tests.factories import UserFactory
from tests.helpers import S3_KEY, S3_REGION, S3_SECRET, new_bucket


@dataclass
class Team:
    """A project with one person in every role, plus an outsider who has a project of their own."""

    project: Project
    owner: object
    admin: object
    member: object
    viewer: object
    outsider: object

    def user(self, persona: str):
        return getattr(self, persona)


@pytest.fixture(scope="session")
def clamd_server(tmp_path_factory):
    server = Clamd(tmp_path_factory.mktemp("clamd"))
    if not server.installed:
        pytest.fail("ClamAV's clamd is missing: tests/services.sh installs Debian's clamav-daemon")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clamd(clamd_server, settings):
    """A running clamd that knows the EICAR file, set as FILEDOCK_CLAMD_ADDRESS (restarted if a
    test stopped it)."""
    if not clamd_server.pong():
        clamd_server.stop()
        clamd_server.start()
    settings.FILEDOCK_CLAMD_ADDRESS = clamd_server.socket
    return clamd_server


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with empty caches: allauth's login and signup rate limits count in the
    cache, and a test's logins must not use up the next test's allowance."""
    yield
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    for cache in caches.all(initialized_only=True):
        if isinstance(cache, LocMemCache):  # the tests' own; a Redis one may be shared
            cache.clear()


@pytest.fixture(autouse=True)
def _no_traffic_waiting_in_redis():
    """Traffic counted by one test and never flushed must not land in another's rows."""
    yield
    from django.db import connection

    from billing import metering

    client = metering.redis_client()
    if client is not None:
        for kind in ("usage", "apilog", "outbox"):  # API log lines and the relay's wake mark likewise
            for key in client.scan_iter(match=f"filedock:{connection.settings_dict['NAME']}:{kind}:*"):
                client.delete(key)


@pytest.fixture
def receiver(httpserver):
    """A webhook receiver at {httpserver}/hook that checks both signatures as a customer's would."""
    from tests.projects.webhooks.receiver import Receiver

    handler = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    handler.url = httpserver.url_for("/hook")
    return handler


@pytest.fixture
def team(db) -> Team:
    owner = UserFactory(email="owner@example.com")
    project = project_create(owner=owner, name="Acme")
    people = {}
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        people[role.value] = UserFactory(email=f"{role.value}@example.com")
        Membership.objects.create(project=project, user=people[role.value], role=role)
    outsider = UserFactory(email="outsider@example.com")
    project_create(owner=outsider, name="Elsewhere")
    return Team(project=project, owner=owner, outsider=outsider, **people)


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker consuming from Redis, in a thread of the test process."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connection

    from config.celery import app

    def close_connection(**kwargs):
        connection.close()  # the worker thread's own connection; the test database must be droppable

    task_postrun.connect(close_connection, weak=False)
    app.control.purge()  # wake-ups queued by earlier tests without a worker are not this test's work
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_connection)


# Playwright drives Debian's Chromium; Playwright's own browser download does not work here.
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


class BrokerQueue:
    """The test run's own Celery queue on the real Redis broker: what the code sent, read back
    without a worker taking it."""

    def __init__(self):
        from django.conf import settings
        from redis import Redis

        self.redis = Redis.from_url(settings.CELERY_BROKER_URL)
        self.name = settings.CELERY_TASK_DEFAULT_QUEUE
        self.redis.delete(self.name)

    def messages(self) -> list[tuple[str, list]]:
        """(task name, args) of every message queued since the fixture started, oldest first."""
        import base64
        import json

        found = []
        for raw in reversed(self.redis.lrange(self.name, 0, -1)):  # kombu pushes on the left
            message = json.loads(raw)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append((message["headers"]["task"], args))
        return found

    def args(self, task: str) -> list[list]:
        return [args for name, args in self.messages() if name == task]


@pytest.fixture
def broker_queue():
    queue = BrokerQueue()
    yield queue
    queue.redis.delete(queue.name)


@pytest.fixture
def broker_down(settings):
    """The broker is away: CELERY_BROKER_URL points at a local port nothing listens on, so every
    send fails with a refused connection, as with Redis stopped (the fault tests stop the real one)."""
    from config.celery import app

    def use(url):
        app.conf.broker_url = url
        # The next send takes kombu's pool for `url` (kombu keeps one per URL; none is closed).
        app._pool = app.amqp._producer_pool = None

    working = app.conf.broker_url
    closed = f"redis://127.0.0.1:{free_port()}/0"
    settings.CELERY_BROKER_URL = closed
    use(closed)
    yield closed
    use(working)


# S3: a real S3 API (moto_server) for the tests that need a bucket.


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real S3 API (moto_server) on a free local port, for the whole session."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 30
    while True:
        try:
            opener.open(f"{endpoint}/moto-api/", timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture
def s3_storage(moto_endpoint, settings):
    """The default storage switched to S3 (a fresh bucket on moto_server) for one test."""
    bucket = new_bucket(moto_endpoint, "filedock")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": moto_endpoint,
                "access_key": S3_KEY,
                "secret_key": S3_SECRET,
                "region_name": S3_REGION,
                "querystring_expire": 300,
            },
        },
    }
    return {"endpoint": moto_endpoint, "bucket": bucket}


@pytest.fixture
def customer_bucket(moto_endpoint) -> str:
    """A fresh bucket on moto_server, as a customer would connect for custom storage or backups."""
    return new_bucket(moto_endpoint, "customer")


@pytest.fixture
def production_cache(settings):
    """Production's cache: Django's over the Redis of REDIS_URL (the one billing.metering's
    pending counts are in), under a prefix of this test's own, emptied after."""
    import uuid

    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    yield caches["default"]
    client = caches["default"]._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*"):
        client.delete(key)


@pytest.fixture
def redis_round_trips(monkeypatch) -> list[str]:
    """Round trips to Redis while the test runs, in order: "execute_command" for a single
    command, "execute" for a pipeline (each counted, then sent as it would have been)."""
    import redis.client

    counted = []
    for cls, name in ((redis.client.Redis, "execute_command"), (redis.client.Pipeline, "execute")):
        original = getattr(cls, name)

        def counting(self, *args, _original=original, _name=name, **kwargs):
            counted.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, counting)
    return counted
