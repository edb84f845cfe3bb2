"""Expiry's one-statement path on PostgreSQL, its ORM path on SQLite, and the task's runs.

Expiry writes its file.deleted events without a payload; a webhook subscribed to them receives
the removed file's info read at relay time, which must be exactly what rest_file_info gave when
the file was removed (the webhook body the clients parse).
"""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from files.cdn import images
from files.info import rest_file_info
from files.models import Event, File
from files.outbox import relay as outbox
from files.storage import expiry
from projects.models import WebhookDelivery
from projects.services import project_create
from tests.factories import UserFactory, make_file
from tests.projects.webhooks.receiver import subscribe

# Uploadcare's initiator for what the platform does by itself.
EXPIRED = {"type": "system", "detail": {"request_id": None, "addon_name": None, "reason": "expired"}}

ROOT = Path(__file__).resolve().parents[3]  # the repository, where manage.py is
TWO_DAYS = timedelta(days=2)


@pytest.fixture
def project(db):
    return project_create(owner=UserFactory(), name="p")


def expired_file(project, name="a.txt", body=b"hello", **fields) -> File:
    file = make_file(project, name, body, store=False, uploaded_at=timezone.now() - TWO_DAYS)
    if fields:
        File.objects.filter(pk=file.pk).update(**fields)
    return file


def test_a_webhook_receives_the_removed_files_info_read_at_relay_time(project, settings):
    from tests.helpers import png_bytes

    settings.FILEDOCK_OUTBOX_CONSUMERS = ["projects.webhooks.outbox.deliveries_for_events"]
    webhook = subscribe(project, "https://hooks.example.com/deleted", event="file.deleted")
    files = [
        expired_file(project),
        expired_file(project, name="p.png", body=png_bytes()),
        expired_file(
            project,
            name='naïve name (1) "q".txt',
            source="url",
            metadata={"key_1": 'ünicode "quoted" \\ value', "b": ""},
        ),
        expired_file(project, mime_type="weird"),
        expired_file(project, image_info={}),
    ]
    Event.objects.all().delete()  # the uploads' own events

    assert expiry.file_expire_batch(limit=100) == len(files)
    removed = {str(file.pk): rest_file_info(File.objects.get(pk=file.pk), include_appdata=True) for file in files}
    events = list(Event.objects.all())
    assert [event.payload for event in events] == [{}] * len(files)
    assert all(event.initiator == EXPIRED for event in events)

    assert outbox.outbox_relay() == len(files)
    deliveries = WebhookDelivery.objects.filter(webhook=webhook)
    assert {delivery.payload["data"]["uuid"]: delivery.payload["data"] for delivery in deliveries} == removed
    for delivery in deliveries:
        data = delivery.payload["data"]
        assert data["datetime_removed"] and data["datetime_stored"] is None
        assert delivery.payload["initiator"] == EXPIRED
        assert delivery.payload["file"].endswith(f"/{data['uuid']}/")


def test_a_project_without_such_a_webhook_reads_no_file_at_relay_time(project, settings):
    from django.test.utils import CaptureQueriesContext

    settings.FILEDOCK_OUTBOX_CONSUMERS = ["projects.webhooks.outbox.deliveries_for_events"]
    subscribe(project, "https://hooks.example.com/uploaded", event="file.uploaded")
    for i in range(3):
        expired_file(project, name=f"{i}.txt")
    outbox.outbox_relay()
    expiry.file_expire_batch(limit=100)
    with CaptureQueriesContext(connection) as relay:
        assert outbox.outbox_relay() == 3
    assert relay.captured_queries and not [q for q in relay.captured_queries if "files_file" in q["sql"]]
    assert not WebhookDelivery.objects.filter(event_type="file.deleted").exists()


def test_a_batch_takes_no_more_than_its_limit_even_with_stale_statistics(project):
    """Statistics taken on an empty table, then many expired files: the claim still runs once."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE files_file")
    for i in range(30):
        expired_file(project, name=f"{i}.txt")
    assert len(expiry.expire_rows(limit=7)) == 7
    assert File.objects.temporary().count() == 23


def test_expire_rows_leaves_the_bytes_for_after_commit(project):
    file = expired_file(project)
    gone = expiry.expire_rows(limit=10)
    assert gone == [(str(file.uuid), file.storage_key, None)]
    file.refresh_from_db()
    assert file.is_removed and default_storage.exists(file.storage_key)
    expiry.delete_blobs(*expiry.bytes_of(gone))
    assert not default_storage.exists(file.storage_key)


def test_a_run_has_deleted_every_batchs_bytes_when_it_returns(project, settings):
    from files.storage.tasks import expire_temporary_files
    from tests.helpers import png_bytes

    settings.FILEDOCK_EXPIRY_BATCH = 3
    files = [expired_file(project, name=f"{i}.txt") for i in range(10)]
    pictured = expired_file(project, name="p.png", body=png_bytes())
    preview = images.rendering_get_or_create(source=pictured, plan=images.parse_preview("10x10"), accepts="")
    kept = make_file(project, "k.txt", b"k", store=True, uploaded_at=timezone.now() - TWO_DAYS)

    assert expire_temporary_files() == 11
    assert expire_temporary_files() == 0
    for file in [*files, pictured]:
        assert not default_storage.exists(file.storage_key)
    assert not default_storage.exists(preview)
    assert default_storage.exists(kept.storage_key)
    assert Event.objects.filter(type="file.deleted").count() == 11


def test_a_run_stops_at_its_time_limit_and_the_next_goes_on(project):
    for i in range(5):
        expired_file(project, name=f"{i}.txt")
    assert expiry.expire_run(limit=2, seconds=0) == 2  # one batch, then the time is up
    assert expiry.expire_run(limit=2, seconds=60) == 3
    assert not File.objects.temporary().exists()


def test_a_run_raises_when_bytes_cannot_be_deleted_and_leaves_the_rows_removed(project):
    """A directory where a blob should be: unlink fails for real. The batches before it have their
    bytes deleted; the failing batch's rows stay removed, its bytes left for the orphan sweep."""
    files = [expired_file(project, name=f"{i}.txt") for i in range(5)]
    blocked = files[3]
    path = Path(default_storage.path(blocked.storage_key))
    path.unlink()
    path.mkdir()
    (path / "inside").write_bytes(b"x")

    with pytest.raises(OSError):
        expiry.expire_run(limit=2, seconds=60)
    assert not File.objects.temporary().exists()
    assert not any(default_storage.exists(file.storage_key) for file in files[:2])
    assert path.is_dir()


SQLITE_EXPIRY = """
from datetime import timedelta
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone
from files import services
from files.info import rest_file_info
from files.models import Event, File
from files.outbox.relay import event_file_infos
from files.storage.tasks import expire_temporary_files
from projects.models import Project

assert connection.vendor == "sqlite"
project = Project.objects.get()
def upload(name, store):
    return services.file_upload(project=project, content=ContentFile(b"x", name=name), filename=name, store=store)
old, other, kept = upload("old.txt", False), upload("b c.png", False), upload("kept.txt", True)
young = upload("young.txt", False)
File.objects.exclude(pk=young.pk).update(datetime_uploaded=timezone.now() - timedelta(days=2))
assert expire_temporary_files() == 2
assert expire_temporary_files() == 0
for file in (old, other):
    file.refresh_from_db()
    assert file.is_removed and not default_storage.exists(file.storage_key)
    event = Event.objects.get(file_uuid=file.pk, type="file.deleted")
    assert event.payload == {} and event_file_infos([event]) == [rest_file_info(file, include_appdata=True)]
    assert event.initiator["type"] == "system" and event.initiator["detail"]["reason"] == "expired"
for file in (kept, young):
    file.refresh_from_db()
    assert not file.is_removed and default_storage.exists(file.storage_key)
print("expiry ok")
"""


def test_expiry_on_sqlite_the_embedded_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", FILEDOCK_VAR_DIR=str(tmp_path))

    def manage(*args) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout

    manage("migrate", "--noinput", "-v0")
    manage("bootstrap", "--email", "e@example.com", "--password", "pw-12345678")
    assert "expiry ok" in manage("shell", "-c", SQLITE_EXPIRY)
