"""Many files made fast for the race tests (threads that each use their own connection: tests.helpers.Crew)."""

import uuid as uuid_lib
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from files.models import File
from files.services import storage_key


def body_of(index: int) -> bytes:
    # Different bytes per file, so a copy of the wrong file or a truncated copy shows.
    return f"file {index}\n".encode() * (1 + index % 7)


def make_files(
    project, count: int, *, age: timedelta = timedelta(0), stored: bool = False, first: int = 0
) -> list[File]:
    """`count` files as file_upload leaves them (bytes first, then the row), without its per-file
    checks and events: thousands of uploads one by one would take most of a test's time.

    Each is a millisecond younger than the one before, so expiry takes them in list order."""
    now = timezone.now()
    rows = []
    for index in range(first, first + count):
        uploaded = now - age - timedelta(milliseconds=count - (index - first))
        file_uuid = uuid_lib.uuid4()
        data = body_of(index)
        key = default_storage.save(storage_key(project.pk, file_uuid), ContentFile(data))
        rows.append(
            File(
                uuid=file_uuid,
                project=project,
                original_filename=f"{index}.txt",
                size=len(data),
                mime_type="text/plain",
                storage_key=key,
                datetime_uploaded=uploaded,
                datetime_stored=uploaded if stored else None,
            )
        )
    return File.objects.bulk_create(rows)
