"""Webhooks under faults, with real processes: a Celery worker (with its beat) on a Redis of the
test's own, which the test stops and restarts, and a worker killed with SIGKILL mid-delivery.

Guarantees checked:
- Redis down while files are uploaded: the uploads commit, and once Redis is back every delivery
  arrives exactly once per webhook-id (the database, not the broker, holds the work).
- A worker killed while the receiver is still answering: the delivery completes after a new worker
  starts, at least once with the same webhook-id. The receiver did get the first request, but
  nobody heard its answer, so it is sent again; receivers deduplicate on webhook-id (Standard
  Webhooks). No attempt is ever made twice at the same time: the claim is a conditional UPDATE.
"""

import os
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from werkzeug import Response

from files.models import File
from files.services import file_upload
from projects.models import WebhookAttempt, WebhookDelivery
from projects.services import project_create
from projects.webhooks import services as webhook_services
from projects.webhooks.outbox import DELIVER_TASK
from tests.factories import UserFactory
from tests.faults.processes import Workers
from tests.helpers import wait_until
from tests.projects.webhooks.receiver import SECRET

ROOT = Path(__file__).resolve().parent.parent.parent
Status = WebhookDelivery.Status
WAKE_FAILED = "broker unavailable; a periodic sweep will run files.tasks.relay_outbox"
# The periodic tasks that would queue a delivery again: a new delivery for an event relayed twice,
# or another message for a delivery already made.
SWEEPS = ("files.tasks.relay_outbox", "projects.tasks.dispatch_due_deliveries")


@pytest.fixture
def process_env(redis_server, tmp_path):
    database = connection.settings_dict
    host, port = database["HOST"] or "127.0.0.1", database["PORT"] or 5432
    url = f"postgres://{database['USER'] or 'root'}@{host}:{port}/{database['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": redis_server.url,
        "FILEDOCK_CELERY_VISIBILITY_TIMEOUT": "3",
        "FILEDOCK_WEBHOOK_TIMEOUT": "4",
        "FILEDOCK_WEBHOOK_CLAIM_SECONDS": "6",
        # The relay and dispatch sweeps the tests wait for run every second, not every 5 s.
        "FILEDOCK_BEAT_INTERVALS": "relay-outbox=1,dispatch-due-webhook-deliveries=1",
        "FILEDOCK_VAR_DIR": str(tmp_path),
    }


@pytest.fixture
def workers(process_env, tmp_path):
    pool = Workers(process_env, tmp_path)
    yield pool
    pool.close()


def succeeded(webhook) -> int:
    return WebhookDelivery.objects.filter(webhook=webhook, status=Status.SUCCEEDED).count()


def tried_after(workers: Workers, first: str, then: str) -> bool:
    """Whether a worker's log has a line with `then` after one with `first`."""
    lines = workers.lines(f"{re.escape(first)}|{re.escape(then)}")
    after = next((n for n, line in enumerate(lines) if first in line), len(lines))
    return any(then in line for line in lines[after:])


UPLOADS = """
import sys
import time
from django.core.files.base import ContentFile
from files.services import file_upload
from projects.models import Project
project = Project.objects.get(pk="{project_id}")
print("ready", flush=True)
sys.stdin.readline()  # the test stops Redis, then says go
started = time.monotonic()
for i in range({count}):
    file_upload(project=project, content=ContentFile(b"x%d" % i, name="%d.txt" % i), filename="%d.txt" % i, store=True)
print("uploaded {count} in %.1f s" % (time.monotonic() - started))
"""


@pytest.mark.django_db(transaction=True)
def test_redis_stopped_during_200_uploads_loses_and_doubles_nothing(redis_server, receiver, workers, process_env):
    project = project_create(owner=UserFactory(), name="faults")
    webhook = webhook_services.webhook_create(
        project=project, target_url=receiver.url, event="file.uploaded", signing_secret=SECRET
    )
    # The uploading process starts Django while the worker does; it uploads once Redis is down.
    uploader = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", UPLOADS.format(project_id=project.pk, count=200)],
        cwd=ROOT,
        env=process_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        workers.start()
        file_upload(project=project, content=ContentFile(b"warm", name="w.txt"), filename="w.txt", store=True)
        assert wait_until(lambda: succeeded(webhook) == 1, 30), workers.logs()
        # "ready" comes after the shell's own banner line.
        assert "ready\n" in iter(uploader.stdout.readline, ""), uploader.communicate(timeout=60)

        redis_server.shutdown()
        _, stderr = uploader.communicate("go\n", timeout=300)
    finally:
        if uploader.poll() is None:
            uploader.kill()
            uploader.wait(10)
    assert uploader.returncode == 0, stderr[-3000:]
    assert File.objects.filter(project=project).count() == 201  # every upload committed with Redis down
    # The relay had its chance while the broker was away: the uploads' wake-ups failed, and the
    # worker, which lost the broker, failed to reach it again.
    assert WAKE_FAILED in stderr, stderr[-3000:]
    assert wait_until(lambda: tried_after(workers, "Connection to broker lost", "consumer: Cannot connect to"), 30), (
        workers.logs()
    )
    assert succeeded(webhook) == 1  # nothing could be relayed while the broker was away
    redis_server.start()

    assert wait_until(lambda: succeeded(webhook) == 201, 120), (succeeded(webhook), workers.logs())
    # More sweeps: a duplicate would show up once a relay and a dispatch sweep that started after
    # every delivery succeeded have run, and every message queued by then has been handled.
    sweeps = {task: len(workers.lines(rf"Task {task}\[.*\] received")) for task in SWEEPS}
    queue = redis.Redis.from_url(redis_server.url)

    def swept() -> bool:
        return (
            all(len(workers.lines(rf"Task {task}\[.*\] succeeded")) > before for task, before in sweeps.items())
            and not any(queue.llen(key) for key in queue.keys(f"{settings.CELERY_TASK_DEFAULT_QUEUE}*"))
            and len(workers.lines(rf"Task {DELIVER_TASK}\[.*\] received"))
            == len(workers.lines(rf"Task {DELIVER_TASK}\[.*\] succeeded"))
        )

    assert wait_until(swept, 30), workers.logs()
    expected = {str(u) for u in WebhookDelivery.objects.filter(webhook=webhook).values_list("delivery_uuid", flat=True)}
    counts = Counter(receiver.ids)
    assert set(counts) == expected and len(expected) == 201
    assert set(counts.values()) == {1}, [i for i, c in counts.items() if c > 1]
    assert all(r["uc_valid"] and r["standard_valid"] for r in receiver.requests)
    assert WebhookAttempt.objects.filter(delivery__webhook=webhook).count() == 201


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_delivery_completes_after_restart(redis_server, receiver, workers):
    arrived, release = threading.Event(), threading.Event()

    def stall(request):
        arrived.set()
        release.wait(8)  # still "thinking" when the worker that sent this is killed
        return Response("late", status=200)

    receiver.answers = [stall]
    project = project_create(owner=UserFactory(), name="faults")
    webhook = webhook_services.webhook_create(
        project=project, target_url=receiver.url, event="file.uploaded", signing_secret=SECRET
    )
    first = workers.start()
    file_upload(project=project, content=ContentFile(b"x", name="a.txt"), filename="a.txt", store=True)
    assert arrived.wait(30), workers.logs()
    workers.kill(first)
    release.set()
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert delivery.status == Status.PENDING and delivery.attempts == 0

    workers.start()
    assert wait_until(lambda: succeeded(webhook) == 1, 60), workers.logs()
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.attempt_log.get().status_code == 200
    assert len(receiver.ids) >= 2 and set(receiver.ids) == {str(delivery.delivery_uuid)}
    assert all(r["uc_valid"] and r["standard_valid"] for r in receiver.requests)
