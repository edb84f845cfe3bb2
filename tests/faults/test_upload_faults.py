"""Uploads over HTTP while Redis goes away, with real processes: gunicorn on production settings
(Redis as Celery broker and cache) and `celery worker -B`, both on a Redis of the test's own that
the test shuts down in the middle of a burst of uploads and starts again.

Guarantees checked:
- The Upload API does not need Redis: every upload of the burst is accepted (the event goes to the
  outbox table in the upload's transaction; a failed wake-up only logs).
- Every accepted upload has its File row and its bytes; no blob without a row.
- Once Redis is back, every upload's file.uploaded event is delivered, exactly once.
"""

from collections import Counter

import pytest
from django.db import connection

from files.models import File
from projects.models import WebhookDelivery
from projects.services import project_create
from projects.webhooks import services as webhook_services
from tests.factories import UserFactory
from tests.faults.processes import Burst, Gunicorn, Workers, database_url, server_env, stored_blobs
from tests.helpers import wait_until
from tests.projects.webhooks.receiver import SECRET

Status = WebhookDelivery.Status
PHASE = 12  # answered requests per phase: before, during and after the outage
WAKE_FAILED = "broker unavailable; a periodic sweep will run files.tasks.relay_outbox"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_redis_stopped_during_upload_burst_loses_no_upload_and_no_event(redis_server, receiver, tmp_path):
    project = project_create(owner=UserFactory(), name="burst")
    webhook = webhook_services.webhook_create(
        project=project, target_url=receiver.url, event="file.uploaded", signing_secret=SECRET
    )
    # Redis keeps nothing on disk: delivery messages queued when it stops are lost, and the sweep
    # queues them again once their claim is stale. A short claim keeps that recovery within the wait.
    env = server_env(
        database_url(connection.settings_dict), redis_server.url, tmp_path, FILEDOCK_WEBHOOK_CLAIM_SECONDS="15"
    )
    workers = Workers(env, tmp_path)
    try:
        with Gunicorn(env, tmp_path / "gunicorn.log") as server:
            workers.start()
            burst = Burst(server.base, project.public_key, threads=4).start()
            # Each phase lasts until PHASE requests sent in it have their answer, however slow the machine.
            assert wait_until(lambda: burst.answered_since(0) >= PHASE, 60), server.log()
            redis_server.shutdown()
            down_at = burst.now()
            # ... and the outage until an upload's wake-up of the relay has failed for want of a broker.
            assert wait_until(lambda: burst.answered_since(down_at) >= PHASE and server.logged(WAKE_FAILED), 60), (
                burst.answered_since(down_at),
                server.log(),
            )
            redis_server.start()
            up_at = burst.now()
            assert wait_until(lambda: burst.answered_since(up_at) >= PHASE, 60), server.log()
            answers = burst.stop()
            log = server.log()

        refused = [a for a in answers if a.status != 200]
        assert not refused, ([(a.status, a.body[:300], a.error) for a in refused[:3]], log)
        during = [a for a in answers if down_at <= a.sent and a.at < up_at]
        assert len(during) >= PHASE, "the outage must overlap the burst"

        accepted = {a.file_id: a.content for a in answers}
        files = {str(f.uuid): f for f in File.objects.filter(project=project)}
        assert set(files) == set(accepted)
        blobs = stored_blobs(tmp_path / "media")
        assert blobs == {files[file_id].storage_key: content for file_id, content in accepted.items()}

        def delivered() -> int:
            return WebhookDelivery.objects.filter(webhook=webhook, status=Status.SUCCEEDED).count()

        assert wait_until(lambda: delivered() == len(accepted), 60), (delivered(), len(accepted), workers.logs())
        counts = Counter(receiver.ids)
        assert len(counts) == len(accepted) and set(counts.values()) == {1}
        uploaded = {r["body"].decode() for r in receiver.requests}
        assert all(any(file_id in body for body in uploaded) for file_id in accepted)
    finally:
        workers.close()
