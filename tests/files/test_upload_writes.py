"""What an upload writes, and when: the file's row, its tags and its events in one transaction,
committed (seen from any other connection) before the answer, the upload counted once after the
commit; nothing at all, bytes included, when any one of those rows is refused."""

import threading

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction

from billing.models import UsageDay
from files import services
from files.info import rest_file_info
from files.models import Event, File, FileTag
from files.outbox.relay import RELAY_TASK
from projects.services import project_create
from tests.factories import UserFactory
from tests.helpers import api_upload, blobs, png_bytes


def elsewhere(read):
    """`read()` run on another database connection (a thread's own): what is committed."""
    seen = []

    def run():
        try:
            seen.append(read())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return seen[0]


def committed(file_uuid) -> dict:
    def read():
        events = Event.objects.filter(file_uuid=file_uuid).order_by("id")
        return {
            "file": File.objects.filter(uuid=file_uuid).first(),
            "tags": sorted(FileTag.objects.filter(file_id=file_uuid).values_list("tag", flat=True)),
            "events": [(event.type, event.payload, event.initiator) for event in events],
            "uploads": sum(UsageDay.objects.values_list("uploads", flat=True)),
        }

    return elsewhere(read)


@pytest.mark.django_db(transaction=True)
def test_an_answered_upload_is_committed_with_its_tags_and_events_counted_once_and_the_relay_woken(
    client, broker_queue
):
    project = project_create(owner=UserFactory(), name="p")
    response = api_upload(
        client,
        project,
        {"f": SimpleUploadedFile("photo.png", png_bytes())},
        UPLOADCARE_STORE="1",
        tags="Red,blue",
        **{"metadata[kind]": "avatar"},
    )
    assert response.status_code == 200
    seen = committed(response.json()["f"])
    file = seen["file"]
    assert file is not None and file.is_stored and file.metadata == {"kind": "avatar"}
    assert file.mime_type == "image/png" and file.image_info["width"] == 40
    assert seen["tags"] == ["blue", "red"]
    info = rest_file_info(file, include_appdata=True)
    assert [(kind, payload) for kind, payload, _ in seen["events"]] == [("file.uploaded", info), ("file.stored", info)]
    assert seen["events"][0][2]["type"] == "api" and seen["events"][0][2] == seen["events"][1][2]
    assert seen["uploads"] == 1
    assert broker_queue.args(RELAY_TASK) == [[]]  # woken once, after the commit, for both events


@pytest.mark.django_db(transaction=True)
def test_a_temporary_upload_on_its_own_writes_its_row_and_one_event():
    project = project_create(owner=UserFactory(), name="p")
    file = services.file_upload(
        project=project, content=ContentFile(b"hello", name="a.txt"), filename="a.txt", store=False
    )
    seen = committed(file.uuid)
    assert seen["file"].datetime_stored is None and seen["tags"] == []
    assert [kind for kind, _, _ in seen["events"]] == ["file.uploaded"] and seen["uploads"] == 1


def refuse_rows(model) -> str:
    """Makes the database refuse every new row of `model`; returns the statement that undoes it."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT no_new_rows CHECK (false) NOT VALID")
    return f"ALTER TABLE {table} DROP CONSTRAINT no_new_rows"


REFUSED = [File, FileTag, Event]


def upload_refused(project):
    before = blobs()
    with pytest.raises(IntegrityError, match="no_new_rows"):
        services.file_upload(
            project=project, content=ContentFile(b"hello", name="a.txt"), filename="a.txt", store=True, tags=["t"]
        )
    assert blobs() == before  # the bytes went with the rows


@pytest.mark.parametrize("model", REFUSED, ids=lambda model: model.__name__)
@pytest.mark.django_db(transaction=True)
def test_a_refused_row_on_its_own_leaves_no_file_no_event_no_count_and_no_bytes(model):
    project = project_create(owner=UserFactory(), name="p")
    undo = refuse_rows(model)
    try:
        upload_refused(project)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(undo)
    assert elsewhere(lambda: (File.objects.count(), Event.objects.count(), FileTag.objects.count())) == (0, 0, 0)
    assert elsewhere(lambda: sum(UsageDay.objects.values_list("uploads", flat=True))) == 0


@pytest.mark.parametrize("model", REFUSED, ids=lambda model: model.__name__)
def test_a_refused_row_inside_a_transaction_leaves_no_file_and_no_event(model, db):
    project = project_create(owner=UserFactory(), name="p")
    refuse_rows(model)  # undone with the test's transaction
    with transaction.atomic():
        upload_refused(project)
        assert (File.objects.count(), Event.objects.count(), FileTag.objects.count()) == (0, 0, 0)


def test_the_file_an_upload_returns_is_its_row_as_read_back(db):
    project = project_create(owner=UserFactory(), name="p")
    file = services.file_upload(
        project=project,
        content=ContentFile(png_bytes(), name="p.png"),
        filename="p.png",
        store=True,
        metadata={"a": "b"},
        tags=["x"],
    )
    row = File.objects.get(pk=file.pk)
    fields = [field.attname for field in File._meta.concrete_fields]
    assert {name: getattr(file, name) for name in fields} == {name: getattr(row, name) for name in fields}
    assert not file._state.adding and file._state.db == "default"  # saved, as Model.save leaves it
    event = Event.objects.filter(file_uuid=file.uuid).first()
    assert event.project_id == project.pk and event.created_at and event.relayed_at is None
