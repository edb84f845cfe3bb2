"""Backups: every stored file copied to the project's backup bucket as `{prefix}{uuid}/{filename}`.

One FileBackup row per file and target is the job. It is created by the outbox consumer (for
files stored while connected) or by the backfill (for files stored before), claimed by a worker
with a conditional UPDATE, retried with exponential backoff, and re-dispatched by a beat sweep, so
a lost message, a dead worker or a target that is down only delays the copy.
"""

import logging
from datetime import timedelta
from functools import partial

from boto3.s3.transfer import TransferConfig
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from core.jobs import claim, retry_delay, send_batches, send_on_commit
from files.models import BucketConnection, Event, File, FileBackup
from files.storage.backends import describe_error, open_stream, s3_client

log = logging.getLogger(__name__)

BACKUP_TASK = "files.tasks.backup_file"
BACKFILL_TASK = "files.tasks.backfill_backups"

Status = FileBackup.Status
OPEN = [Status.PENDING, Status.COPYING]
MiB = 1024 * 1024
PART_MIN = 5 * MiB  # S3's smallest part
PARTS_MAX = 9000  # S3 allows 10,000 parts; keep a margin


def transfer_config(size: int) -> TransferConfig:
    """boto3's managed transfer, multipart above one part, two parts uploading at a time.

    The source is a stream that cannot seek, which s3transfer reads into memory part by part: at
    most two parts wait there (its default is ten), so a copy holds a few parts whatever the
    file's size. Parts are 5 MiB, larger only when a file would need more than PARTS_MAX.
    """
    part = max(PART_MIN, -(-size // PARTS_MAX))
    config = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=2, max_io_queue=4)
    config.max_in_memory_upload_chunks = 2  # not a boto3 argument, but s3transfer's own setting
    config.max_bandwidth = settings.FILEDOCK_BACKUP_MAX_BANDWIDTH or None
    return config


def backup_key(target: BucketConnection, file: File) -> str:
    return f"{target.prefix}{file.uuid}/{file.original_filename}"


def jobs_for_events(events: list[Event]) -> None:
    """Outbox consumer: a job for each stored file of a project with a backup bucket connected.

    A file uploaded with store=1 only emits file.uploaded, so both events are looked at; the
    unique (file, target) pair makes the second one a no-op. For the relay's whole batch at once:
    one query for the targets, and only when one is connected, one for the files.
    """
    wanted = [
        event
        for event in events
        if event.type in (Event.Type.FILE_UPLOADED, Event.Type.FILE_STORED) and event.file_uuid is not None
    ]
    if not wanted:
        return
    targets = {
        target.project_id: target
        for target in BucketConnection.objects.filter(
            project_id__in={event.project_id for event in wanted},
            purpose=BucketConnection.Purpose.BACKUP,
            disconnected_at__isnull=True,
        )
    }
    target_of = {event.file_uuid: targets[event.project_id] for event in wanted if event.project_id in targets}
    if not target_of:
        return
    created = []
    for file_uuid in File.objects.stored().filter(uuid__in=target_of).values_list("uuid", flat=True):
        backup, new = FileBackup.objects.get_or_create(
            file_id=file_uuid, target=target_of[file_uuid], defaults={"next_attempt_at": timezone.now()}
        )
        if new:
            created.append(backup.pk)
    dispatch_after_commit(created)


def dispatch_after_commit(backup_ids: list[int], countdown: float | None = None) -> None:
    """Queues the copies once the rows they need are committed (at once outside a transaction)."""
    if backup_ids:
        transaction.on_commit(partial(send_batches, BACKUP_TASK, backup_ids, countdown=countdown))


def backfill_start(*, target: BucketConnection) -> None:
    """Queues the backfill of files stored before the connection; call inside its transaction."""
    send_on_commit(BACKFILL_TASK, str(target.pk))


def backfill_step(*, target_id, batch: int | None = None) -> int | None:
    """Creates jobs for the next batch of the project's stored files; returns how many files it
    looked at, or None when the backfill is finished (or the target is gone or locked elsewhere).

    The cursor moves in uuid order in the same transaction as the rows, so a crash repeats at
    most one batch and the unique (file, target) pair makes the repeat harmless.
    """
    batch = batch or settings.FILEDOCK_BACKUP_BACKFILL_BATCH
    with transaction.atomic():
        # SKIP LOCKED: a backfill task and the sweep never step the same target at once.
        target = (
            BucketConnection.objects.select_for_update(skip_locked=True)
            .filter(pk=target_id, disconnected_at__isnull=True, backfill_done_at__isnull=True)
            .first()
        )
        if target is None:
            return None
        files = File.objects.stored().filter(project_id=target.project_id).order_by("uuid")
        if target.backfill_cursor:
            files = files.filter(uuid__gt=target.backfill_cursor)
        uuids = list(files.values_list("uuid", flat=True)[:batch])
        now = timezone.now()
        FileBackup.objects.bulk_create(
            [FileBackup(file_id=u, target=target, next_attempt_at=now) for u in uuids], ignore_conflicts=True
        )
        if uuids:
            target.backfill_cursor = uuids[-1]
        if len(uuids) < batch:
            target.backfill_done_at = now
        target.save(update_fields=["backfill_cursor", "backfill_done_at"])
        # ignore_conflicts leaves pks unset: look the batch's open jobs up instead.
        ids = list(
            FileBackup.objects.filter(target=target, file_id__in=uuids, status=Status.PENDING).values_list(
                "pk", flat=True
            )
        )
        dispatch_after_commit(ids)
    return len(uuids)


def backfill_run(*, target_id) -> int:
    """Steps the backfill to its end; returns how many files it looked at."""
    total = 0
    while (count := backfill_step(target_id=target_id)) is not None:
        total += count
        if count == 0:
            break
    return total


def backup_claim(*, backup_id: int) -> FileBackup | None:
    """Takes the job for this worker until its lease ends; None if it is not due or not open."""
    now = timezone.now()
    # Not claimed: another worker holds the job (its lease has not run out), it is done or called
    # off, or its retry is not due yet.
    claimed = claim(
        FileBackup.objects.filter(pk=backup_id, status__in=OPEN, next_attempt_at__lte=now),
        status=Status.COPYING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + timedelta(seconds=settings.FILEDOCK_BACKUP_LEASE),
    )
    if not claimed:
        return None
    return FileBackup.objects.select_related("file", "target").get(pk=backup_id)


def backup_run(*, backup_id: int) -> str:
    """Copies one file to its backup bucket if the job is due; returns the job's status after.

    Idempotent: a second run finds the job claimed or done and returns. A file removed before
    its copy ran is skipped, a disconnected target cancels the job, and any failure schedules
    a retry with exponential backoff (failed for good after FILEDOCK_BACKUP_MAX_ATTEMPTS).
    """
    backup = backup_claim(backup_id=backup_id)
    if backup is None:
        return "not-due"
    file, target = backup.file, backup.target
    if not target.is_active:
        return _finish(backup, Status.CANCELLED)
    if file.is_removed or not file.is_stored:
        return _finish(backup, Status.SKIPPED)
    try:
        _copy(file, target)
    except Exception as exc:
        return _failed(backup, exc)
    return _finish(backup, Status.DONE, copied_at=timezone.now(), last_error="")


def _copy(file: File, target: BucketConnection) -> None:
    # Streamed from where the bytes live into boto3's managed transfer: multipart for large
    # files, a few parts in memory at a time.
    with open_stream(file) as stream:
        s3_client(target).upload_fileobj(
            stream,
            target.bucket,
            backup_key(target, file),
            ExtraArgs={"ContentType": file.mime_type},
            Config=transfer_config(file.size),
        )


def _finish(backup: FileBackup, status: str, **fields) -> str:
    # Only the worker holding the claim finishes the job (a disconnect may have moved it on).
    FileBackup.objects.filter(pk=backup.pk, status=Status.COPYING).update(status=status, next_attempt_at=None, **fields)
    return status


def _failed(backup: FileBackup, exc: Exception) -> str:
    file = File.objects.filter(pk=backup.file_id).first()
    if file is None or file.is_removed:
        return _finish(backup, Status.SKIPPED)  # the bytes went away with the file, no half copy kept
    if not BucketConnection.objects.filter(pk=backup.target_id, disconnected_at__isnull=True).exists():
        return _finish(backup, Status.CANCELLED)
    error = describe_error(exc, backup.target)
    log.warning("backup %s failed (attempt %s): %s", backup.pk, backup.attempts, error)
    if backup.attempts >= settings.FILEDOCK_BACKUP_MAX_ATTEMPTS:
        FileBackup.objects.filter(pk=backup.pk, status=Status.COPYING).update(
            status=Status.FAILED, next_attempt_at=None, last_error=error
        )
        return Status.FAILED
    delay = retry_delay(
        backup.attempts, base=settings.FILEDOCK_BACKUP_RETRY_BASE, cap=settings.FILEDOCK_BACKUP_RETRY_MAX
    )
    changed = FileBackup.objects.filter(pk=backup.pk, status=Status.COPYING).update(
        status=Status.PENDING, next_attempt_at=timezone.now() + timedelta(seconds=delay), last_error=error
    )
    if changed:
        dispatch_after_commit([backup.pk], countdown=delay)
    return Status.PENDING


def backup_sweep(*, limit: int | None = None) -> int:
    """Beat: steps unfinished backfills and re-sends due jobs whose message was lost, whose
    worker died (lease over) or whose retry is due; bounded by `limit`. Returns jobs sent."""
    limit = limit or settings.FILEDOCK_BACKUP_SWEEP_LIMIT
    for target_id in BucketConnection.objects.filter(
        purpose=BucketConnection.Purpose.BACKUP,
        disconnected_at__isnull=True,
        backfill_done_at__isnull=True,
    ).values_list("pk", flat=True)[:50]:
        backfill_step(target_id=target_id)
    now = timezone.now()
    # A new job's message is normally queued already: only one older than the grace is re-sent.
    grace = timedelta(seconds=settings.FILEDOCK_BACKUP_SWEEP_GRACE)
    due = list(
        FileBackup.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now - grace)
            | Q(status=Status.PENDING, attempts__gt=0, next_attempt_at__lte=now)
            | Q(status=Status.COPYING, next_attempt_at__lte=now),
            target__disconnected_at__isnull=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    send_batches(BACKUP_TASK, due)
    return len(due)


def backup_retry_failed(*, target: BucketConnection) -> int:
    """Puts the target's failed jobs back in the queue; returns how many."""
    with transaction.atomic():
        ids = list(FileBackup.objects.filter(target=target, status=Status.FAILED).values_list("pk", flat=True))
        FileBackup.objects.filter(pk__in=ids, status=Status.FAILED).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        dispatch_after_commit(ids)
    return len(ids)


def backup_progress(*, target: BucketConnection, failures: int = 20) -> dict:
    """What the settings page shows: done of total stored files, open jobs, lag, failures."""
    now = timezone.now()
    total = File.objects.stored().filter(project_id=target.project_id).count()
    counts = {
        row["status"]: row["n"]
        for row in FileBackup.objects.filter(target=target, file__datetime_removed__isnull=True)
        .values("status")
        .annotate(n=Count("pk"))
        .order_by()
    }
    oldest = FileBackup.objects.filter(target=target, status__in=OPEN).aggregate(at=Min("created_at"))["at"]
    done = counts.get(Status.DONE, 0)
    return {
        "total": total,
        "done": done,
        "percent": 100 if total == 0 else min(100, done * 100 // total),
        "pending": counts.get(Status.PENDING, 0),
        "copying": counts.get(Status.COPYING, 0),
        "failed": counts.get(Status.FAILED, 0),
        "backfilling": target.backfill_done_at is None and target.is_active,
        "busy": bool(counts.get(Status.PENDING) or counts.get(Status.COPYING))
        or (target.backfill_done_at is None and target.is_active),
        "lag": (now - oldest) if oldest else None,
        "failures": list(
            FileBackup.objects.filter(target=target)
            .exclude(last_error="")
            .exclude(status=Status.DONE)
            .select_related("file")
            .order_by("-pk")[:failures]
        ),
    }


def file_backup_states(*, file: File) -> list[FileBackup]:
    """The file's backup jobs, newest target first, for the file detail page."""
    return list(file.backups.select_related("target").order_by("-target__connected_at"))
