"""File tags (REST `files/{uuid}/tags/`, the files browser): normalising, reading and changing them.

A tag is stored lowercased and trimmed, one FileTag row each, in the order it was first added
(rows' ids). Uploadcare's rules, which pyuploadcare 6.3 checks on its side too: at most
MAX_TAGS per file, each of 1–MAX_LENGTH characters from TAG_CHARS.
"""

import re
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from files.models import Event, File, FileTag
from files.services import FileRemovedError, emit

MAX_TAGS = 50
MAX_LENGTH = 100
TAG_CHARS = re.compile(rf"\A[-_.a-z0-9]{{1,{MAX_LENGTH}}}\Z")


class TagError(ValueError):
    """Tags that break Uploadcare's rules; the message says which and why."""


def tags_normalize(tags, *, max_count: int | None = MAX_TAGS) -> list[str]:
    """Lowercased, trimmed, empty ones and repeats dropped (first wins), in the order given.
    Raises TagError for anything but a list of strings, a tag of other characters, or too many."""
    if isinstance(tags, str) or not isinstance(tags, list | tuple):
        raise TagError("Must be a list of strings.")
    normalized: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise TagError("Every tag must be a string.")
        tag = tag.strip().lower()
        if not tag or tag in normalized:
            continue
        if not TAG_CHARS.match(tag):
            raise TagError(
                f"Tag “{tag[:MAX_LENGTH]}” is not valid: up to {MAX_LENGTH} characters of Latin letters, "
                "digits, “-”, “_” and “.”."
            )
        normalized.append(tag)
    if max_count is not None and len(normalized) > max_count:
        raise TagError(f"Too many tags: {len(normalized)}, a file has at most {max_count}.")
    return normalized


def tags_parse(text: str) -> list[str]:
    """Comma- or space-separated tags as people type them (the dashboard), normalised."""
    return tags_normalize([part for part in re.split(r"[\s,]+", text) if part])


def file_tags(file: File) -> list[str]:
    """The file's tags in storage order."""
    return list(FileTag.objects.filter(file=file).order_by("pk").values_list("tag", flat=True))


def tags_of_files(file_ids: Iterable) -> dict:
    """Each file's tags in storage order, by file uuid, in one query (files without tags absent)."""
    by_file = defaultdict(list)
    for file_id, tag in FileTag.objects.filter(file_id__in=list(file_ids)).order_by("pk").values_list("file_id", "tag"):
        by_file[file_id].append(tag)
    return by_file


def file_tags_replace(*, file: File, tags: list[str], initiator: dict | None = None) -> dict:
    """Sets the file's tags to `tags`: the ones kept keep their place, new ones follow in the order
    given. Emits file.info_updated (previous_values: the tags before) when anything changed.
    Returns {tags, added, deleted} (the two deltas sorted). Raises TagError, FileRemovedError."""
    wanted = tags_normalize(tags)
    return _change(file, initiator, lambda current: ([t for t in current if t not in wanted], wanted))


def file_tags_update(
    *, file: File, add: list[str] | None = None, delete: list[str] | None = None, initiator: dict | None = None
) -> dict:
    """Removes `delete`, then adds `add` (so a tag in both stays, moved to the end only if it was
    not there). Emits file.info_updated when anything changed. Returns {tags, added, deleted}.
    Raises TagError (also for a result over MAX_TAGS), FileRemovedError."""
    adding = tags_normalize(add or [])
    # A list of candidates: tags the file does not have are ignored, so no count limit.
    deleting = tags_normalize(delete or [], max_count=None)

    def plan(current: list[str]) -> tuple[list[str], list[str]]:
        removed = [t for t in current if t in deleting and t not in adding]
        return removed, adding

    return _change(file, initiator, plan)


def _change(file: File, initiator, plan) -> dict:
    with transaction.atomic():
        # The file's row lock orders concurrent changes to its tags: each one reads what the
        # one before it wrote, so the deltas it reports are true.
        locked = File.objects.select_for_update().filter(pk=file.pk).first()
        if locked is None or locked.is_removed:
            raise FileRemovedError(str(file.uuid))
        current = file_tags(locked)
        removed, wanted = plan(current)
        added = [t for t in wanted if t not in current]
        result = [t for t in current if t not in removed] + added
        if len(result) > MAX_TAGS:
            raise TagError(f"Too many tags: {len(result)}, a file has at most {MAX_TAGS}.")
        if removed:
            FileTag.objects.filter(file=locked, tag__in=removed).delete()
        if added:
            FileTag.objects.bulk_create([FileTag(file=locked, project_id=locked.project_id, tag=t) for t in added])
        if removed or added:
            emit(locked, Event.Type.FILE_INFO_UPDATED, initiator, previous_values={"tags": current})
    return {"tags": result, "added": sorted(added), "deleted": sorted(removed)}
