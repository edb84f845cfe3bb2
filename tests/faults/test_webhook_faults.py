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
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from werkzeug import Response

from files.models import File
from files.services import file_upload
from projects.models import WebhookAttempt, WebhookDelivery
from projects.services import project_create
from projects.webhooks import services as webhook_services
from tests.factories import UserFactory
from tests.faults.processes import Workers
from tests.helpers import wait_until
from tests.projects.webhooks.receiver import SECRET

ROOT = Path(__file__).resolve().parent.parent.parent
Status = WebhookDelivery.Status


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
        "FILEDOCK_VAR_DIR": str(tmp_path),
    }


@pytest.fixture
def workers(process_env, tmp_path):
    pool = Workers(process_env, tmp_path)
    yield pool
    pool.close()


def succeeded(webhook) -> int:
    return WebhookDelivery.objects.filter(webhook=webhook, status=Status.SUCCEEDED).count()


UPLOADS = """
import time
from django.core.files.base import ContentFile
from files.services import file_upload
from projects.models import Project
project = Project.objects.get(pk="{project_id}")
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
    workers.start()
    file_upload(project=project, content=ContentFile(b"warm", name="w.txt"), filename="w.txt", store=True)
    assert wait_until(lambda: succeeded(webhook) == 1, 30), workers.logs()

    redis_server.shutdown()
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", UPLOADS.format(project_id=project.pk, count=200)],
        cwd=ROOT,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert File.objects.filter(project=project).count() == 201  # every upload committed with Redis down
    time.sleep(2)
    assert succeeded(webhook) == 1  # nothing could be relayed while the broker was away
    redis_server.start()

    assert wait_until(lambda: succeeded(webhook) == 201, 120), (succeeded(webhook), workers.logs())
    time.sleep(8)  # more sweeps: a duplicate would show up now
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
