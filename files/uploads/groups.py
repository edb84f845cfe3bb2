"""File groups: an ordered list of a project's files, created through the Upload API."""

import re
import uuid as uuid_lib

from django.db import transaction

from files import errors
from files.models import File, Group

# A file reference: a bare UUID or any URL/path holding one, optionally followed by -/effects/.
FILE_REF = re.compile(
    r"(?:^|/)([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?:/(?:-/(.*))?)?$"
)
GROUP_ID = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})~(\d+)$")
MAX_FILES = 1000


def parse_file_ref(value: str) -> tuple[str, str]:
    """(uuid, default effects without the leading -/) from `uuid`, `uuid/-/resize/10x/` or a CDN URL."""
    match = FILE_REF.search(value.strip().split("?", 1)[0])
    if not match or "\x00" in value:  # NUL: PostgreSQL's jsonb cannot hold the effects
        raise errors.UploadError("GroupFileURLParsingFailedError", 400, f"This is not valid file url: {value}.")
    effects = match.group(2) or ""
    if effects and not effects.endswith("/"):
        effects += "/"
    return match.group(1).lower(), effects


@transaction.atomic
def group_create(*, project, refs: list[str], group_id: str | None = None) -> Group:
    """Creates a group of the project's files, in the order given. Raises UploadError.
    `group_id`: one given out before the files existed (a video conversion's thumbnails)."""
    if not refs:
        raise errors.UploadError("GroupFilesInvalidError", 400, "No files[N] parameters found.")
    if len(refs) > MAX_FILES:
        raise errors.UploadError("FilesNumberLimitExceededError", 400, "The request contains too many files.")
    items = [dict(zip(("uuid", "effects"), parse_file_ref(ref), strict=True)) for ref in refs]
    found = set(
        File.objects.filter(
            project=project, uuid__in={i["uuid"] for i in items}, datetime_removed__isnull=True
        ).values_list("uuid", flat=True)
    )
    if len({i["uuid"] for i in items} - {str(u) for u in found}):
        raise errors.UploadError("GroupFilesNotFoundError", 400, "Some files not found.")
    return Group.objects.create(id=group_id or f"{uuid_lib.uuid4()}~{len(items)}", project=project, items=items)


def group_lookup(*, project, group_id: str) -> Group | None:
    if not GROUP_ID.match(group_id or ""):
        return None
    return Group.objects.filter(project=project, id=group_id).first()


def group_delete(*, group: Group) -> None:
    """Deletes the group; its files stay."""
    group.delete()
