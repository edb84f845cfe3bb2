"""Storage's background work: expiry, orphan sweeps, backups and their backfills."""

from django.conf import settings

from core.jobs import job
from files.storage import backups
from files.storage.edge import edge_sweep
from files.storage.expiry import expire_run
from files.storage.sweeps import storage_sweep_orphans

# A run stops taking new batches after this long, well inside beat's one-minute period and the task
# time limit; the next tick goes on where it stopped (two runs at once take different files).
EXPIRY_RUN_SECONDS = 45


@job("files.tasks.expire_temporary_files")
def expire_temporary_files() -> int:
    """Every minute: removes expired temporary files, batch after batch, for up to EXPIRY_RUN_SECONDS."""
    return expire_run(limit=settings.FILEDOCK_EXPIRY_BATCH, seconds=EXPIRY_RUN_SECONDS)


@job("files.tasks.sweep_orphan_blobs")
def sweep_orphan_blobs() -> int:
    """Hourly: deletes blobs that no live file row names (a crash between bytes and row)."""
    return storage_sweep_orphans()


@job("files.tasks.sweep_edge")
def sweep_edge() -> int:
    """Every minute: purges from the edge cache what a failed purge left (files.storage.edge)."""
    return edge_sweep()


@job(
    backups.BACKUP_TASK,
    time_limit=settings.FILEDOCK_BACKUP_TIME_LIMIT,
    soft_time_limit=settings.FILEDOCK_BACKUP_TIME_LIMIT - 30,
)
def backup_file(backup_id: int) -> str:
    """Copies one file to its backup bucket; a duplicate or early message is a no-op."""
    return backups.backup_run(backup_id=backup_id)


@job(backups.BACKFILL_TASK, time_limit=900, soft_time_limit=870)
def backfill_backups(target_id: str) -> int:
    """Creates (and queues) the jobs for files stored before a backup bucket was connected."""
    return backups.backfill_run(target_id=target_id)


@job("files.tasks.sweep_backups")
def sweep_backups() -> int:
    """Beat: continues backfills and re-sends due backup jobs (bounded)."""
    return backups.backup_sweep()
