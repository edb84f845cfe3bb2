"""core.rawsql's INSERTs: the rows the ORM would write, in the order given."""

import uuid

from django.utils import timezone

from core import rawsql
from files.models import Event, File, FileTag
from projects.services import project_create
from tests.factories import UserFactory


def test_rows_alike_but_for_one_field_are_written_in_order_after_the_rows_they_follow(db):
    project = project_create(owner=UserFactory(), name="p")
    file = File(uuid=uuid.uuid4(), project=project, original_filename="a", size=1, storage_key="k", metadata={"m": "1"})
    template = Event(project_id=project.pk, file_uuid=file.uuid, payload={"say": 'a "quoted" \\ word'}, initiator={})
    types = ["file.uploaded", "file.stored", "file.info_updated"]
    rawsql.insert_rows([file], [FileTag(file=file, project=project, tag="t")], rawsql.Alike(template, "type", types))
    assert File.objects.get(pk=file.pk).metadata == {"m": "1"} and not file._state.adding
    events = list(Event.objects.filter(file_uuid=file.uuid).order_by("id"))
    assert [event.type for event in events] == types
    assert all(event.payload == {"say": 'a "quoted" \\ word'} and event.project_id == project.pk for event in events)
    assert all(event.created_at == template.created_at and event.relayed_at is None for event in events)
    assert list(FileTag.objects.filter(file=file).values_list("tag", flat=True)) == ["t"]


def test_empty_batches_write_nothing(db):
    template = Event(project_id=uuid.uuid4(), created_at=timezone.now())
    rawsql.insert_rows([], rawsql.Alike(template, "type", []))
    assert not Event.objects.exists()
