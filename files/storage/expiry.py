"""Expiry of temporary files: the beat task's batches (files.tasks.expire_temporary_files).

A batch marks expired temporary files removed and writes one file.deleted event each (reason
"expired") in one transaction, then deletes their bytes after commit. Rows first, bytes after:
a crash in between leaves bytes of removed rows, which the orphan sweep deletes; the other order
could leave a live row whose bytes are gone.

The events carry no payload. A removed file no longer changes, so the relay reads its info when,
and only if, a webhook is to receive it (files.outbox.relay.event_file_infos); most projects have none.

On PostgreSQL one statement claims the rows, marks them and writes their events. Elsewhere
(SQLite, the embedded run) the same steps run through the ORM.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from files.initiators import system_initiator
from files.models import Event, File
from files.outbox.relay import wake_relay
from files.storage.backends import previews_delete_many, storage_delete_many, storage_for

EXPIRED = system_initiator("expired")


def file_expire_batch(*, limit: int = 1000, now=None) -> int:
    """Marks up to `limit` expired temporary files removed, then deletes their bytes; returns how many."""
    gone = expire_rows(limit=limit, now=now)
    delete_blobs(*bytes_of(gone))
    return len(gone)


def expire_run(*, limit: int, seconds: float) -> int:
    """Expires batch after batch until one comes back short or `seconds` have passed; returns how many.

    A batch's bytes are deleted in a second thread while the next batch's rows are marked, so the
    database and the storage work at the same time. Each batch's bytes are gone before the next
    batch's are handed over, and all of them before this returns; a failure to delete them is
    raised here, as from file_expire_batch.
    """
    deadline = time.monotonic() + seconds
    removed = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="expiry-bytes") as deleter:
        deleting = None
        while True:
            gone = expire_rows(limit=limit)
            if deleting is not None:
                deleting.result()
            deleting = deleter.submit(delete_blobs, *bytes_of(gone))
            removed += len(gone)
            if len(gone) < limit or time.monotonic() > deadline:
                deleting.result()
                return removed


def expire_rows(*, limit: int, now=None) -> list[tuple]:
    """Marks up to `limit` expired temporary files removed, with their events, in one transaction.

    Returns (uuid, storage_key, storage_target_id) of each; their bytes are still there. Never
    touches a stored file: the claim is a conditional UPDATE on "not stored, not removed", so a
    store that committed first keeps its file, and a store that comes after finds it removed.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.FILEDOCK_TEMPORARY_FILE_LIFETIME)
    claim = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            gone = _claim_in_sql(cutoff, claim, limit)
        else:
            gone = _claim_with_orm(cutoff, claim, limit)
        if gone:
            transaction.on_commit(wake_relay)
    return gone


# --- PostgreSQL: one statement ------------------------------------------------------------------

# SKIP LOCKED: two runs at once take different files, and a file a store is changing is left for
# the next run instead of being waited for. ARRAY(...): the claim runs once, before the UPDATE,
# which finds its rows by primary key. The UPDATE's condition repeats the claim's (the rows are
# locked by then, so it holds for each); written with coalesce so that the planner, misled by
# stale statistics, cannot scan the whole partial index of temporary files instead.
CLAIM_SQL = f"""
WITH gone AS (
    UPDATE {File._meta.db_table} AS f SET datetime_removed = %(claim)s
    WHERE f.uuid = ANY(ARRAY(
        SELECT uuid FROM {File._meta.db_table}
        WHERE datetime_stored IS NULL AND datetime_removed IS NULL AND datetime_uploaded < %(cutoff)s
        ORDER BY datetime_uploaded LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )) AND coalesce(f.datetime_stored, f.datetime_removed) IS NULL
    RETURNING f.uuid, f.project_id, f.storage_key, f.storage_target_id
), events AS (
    INSERT INTO {Event._meta.db_table} (project_id, type, file_uuid, payload, initiator, created_at)
    SELECT project_id, %(type)s, uuid, '{{}}'::jsonb, %(initiator)s::jsonb, %(claim)s FROM gone
)
SELECT uuid::text, storage_key, storage_target_id FROM gone
"""


def _claim_in_sql(cutoff, claim, limit: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            CLAIM_SQL,
            {
                "claim": claim,
                "cutoff": cutoff,
                "limit": limit,
                "type": Event.Type.FILE_DELETED.value,
                "initiator": json.dumps(EXPIRED),
            },
        )
        return cursor.fetchall()


# --- other databases: the ORM -------------------------------------------------------------------


def _claim_with_orm(cutoff, claim, limit: int) -> list[tuple]:
    candidates = list(
        File.objects.temporary()
        .filter(datetime_uploaded__lt=cutoff)
        .order_by("datetime_uploaded")
        .select_for_update(skip_locked=True)
        .values_list("uuid", flat=True)[:limit]
    )
    if not candidates:
        return []
    File.objects.filter(uuid__in=candidates, datetime_stored__isnull=True, datetime_removed__isnull=True).update(
        datetime_removed=claim
    )
    # Without row locks (SQLite) a store may have come between the SELECT and the UPDATE: the
    # files this batch removed are those carrying its claim time.
    claimed = list(File.objects.filter(uuid__in=candidates, datetime_removed=claim))
    Event.objects.bulk_create(
        [
            Event(
                project_id=file.project_id,
                type=Event.Type.FILE_DELETED,
                file_uuid=file.uuid,
                payload={},
                initiator=EXPIRED,
                created_at=claim,
            )
            for file in claimed
        ]
    )
    return [(str(file.uuid), file.storage_key, file.storage_target_id) for file in claimed]


# --- bytes, after commit ------------------------------------------------------------------------


def bytes_of(gone: list[tuple]) -> tuple[list[tuple], list[str]]:
    """What delete_blobs takes for removed files: their keys grouped by the storage holding them,
    [(storage, [key, ...])], and their uuids (for the previews). Looks storages up in the
    database, so it runs in the caller's thread, not the deleting one."""
    by_target: dict = {}
    for _, key, target_id in gone:
        by_target.setdefault(target_id, []).append(key)
    blobs = [(storage_for(File(storage_target_id=target_id)), keys) for target_id, keys in by_target.items()]
    return blobs, [file_uuid for file_uuid, _, _ in gone]


def delete_blobs(blobs: list[tuple], file_uuids: list[str]) -> None:
    """One batch delete per storage, then the files' cached previews."""
    for storage, keys in blobs:
        storage_delete_many(storage, keys)
    previews_delete_many(file_uuids)
