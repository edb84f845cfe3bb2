from celery import shared_task
from django.conf import settings

from files import services
from files.expiry import expire_run
from files.from_url import FETCH_TIME_LIMIT, from_url_fetch, from_url_requeue
from files.outbox import outbox_relay
from files.multipart import multipart_sweep_abandoned


@shared_task(acks_late=True, time_limit=FETCH_TIME_LIMIT, soft_time_limit=FETCH_TIME_LIMIT - 50)
def fetch_from_url(token: str) -> None:
    from_url_fetch(token=token)


@shared_task(acks_late=True)
def requeue_from_url() -> int:
    return from_url_requeue()


# A run stops taking new batches after this long, well inside beat's one-minute period and the task
# time limit; the next tick goes on where it stopped (two runs at once take different files).
EXPIRY_RUN_SECONDS = 45


@shared_task(acks_late=True)
def expire_temporary_files() -> int:
    """Every minute: removes expired temporary files, batch after batch, for up to EXPIRY_RUN_SECONDS."""
    return expire_run(limit=settings.FILEDOCK_EXPIRY_BATCH, seconds=EXPIRY_RUN_SECONDS)


@shared_task(acks_late=True)
def sweep_orphan_blobs() -> int:
    return services.storage_sweep_orphans() + multipart_sweep_abandoned()


@shared_task(acks_late=True)
def relay_outbox() -> int:
    """Woken after each commit that wrote events, and every few seconds by beat as a sweep."""
    relayed = total = outbox_relay()
    while relayed:
        relayed = outbox_relay()
        total += relayed
    return total


@shared_task(acks_late=True, time_limit=settings.FILEDOCK_BACKUP_TIME_LIMIT,
             soft_time_limit=settings.FILEDOCK_BACKUP_TIME_LIMIT - 30)
def backup_file(backup_id: int) -> str:
    """Copies one file to its backup bucket; a duplicate or early message is a no-op."""
    from files.backups import backup_run

    return backup_run(backup_id=backup_id)


@shared_task(acks_late=True, time_limit=900, soft_time_limit=870)
def backfill_backups(target_id: str) -> int:
    """Creates (and queues) the jobs for files stored before a backup bucket was connected."""
    from files.backups import backfill_run

    return backfill_run(target_id=target_id)


@shared_task(acks_late=True)
def sweep_backups() -> int:
    """Beat: continues backfills and re-sends due backup jobs (bounded)."""
    from files.backups import backup_sweep

    return backup_sweep()
