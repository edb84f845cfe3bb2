"""P6: expiry of temporary files, the real task against a naive loop, at several sizes.

    .venv/bin/python bench/expiry.py [--sizes 5000,50000]   (the recorded figures: --sizes 10000,100000)

For each size, on a scratch PostgreSQL database and local disk storage (production settings, a
redis-server of its own as the broker), it creates N temporary files older than their lifetime
(rows with bulk SQL, bytes as small files on disk) and removes them twice:

- naive: one statement per file deleting its row (only while unstored), then unlinking its blob;
- filedock: the Celery beat task `files.tasks.expire_temporary_files`, run in this process until
  it finds nothing left (each run is what one beat tick does), with its outbox events. It is
  warmed first on one file, as in a worker that has run before: the task's modules imported and
  the broker connection open (together about 0.3 s, most of a 10,000-file run).

It checks that every blob is gone and every row is removed, then prints both times and the speed-up.
It then times the outbox relay taking those events (no webhook subscribed, as in most projects):
background work that follows, which the naive loop has no counterpart of, so it is outside the ratio.
Then it ages those relayed events past FILEDOCK_EVENT_RETENTION_DAYS and times the beat task that
prunes them (run until it finds none), and prints how many rows the events table has left.
"""

import argparse
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bootstrap, header, production_env, redis_server, row, scratch_database, workdir


def make_expired(project_id: str, n: int, media: Path) -> list[uuid.UUID]:
    """N temporary files uploaded two days ago: a blob each on disk, the rows in one INSERT."""
    from django.db import connection

    uuids = [uuid.uuid4() for _ in range(n)]
    folder = media / "files" / project_id
    folder.mkdir(parents=True, exist_ok=True)
    for file_uuid in uuids:
        with open(folder / str(file_uuid), "wb") as blob:
            blob.write(b"expired bytes")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO files_file (uuid, project_id, original_filename, size, mime_type, image_info, metadata,
                                    appdata, infected, source, storage_key, datetime_uploaded)
            SELECT u, %s, 'old.txt', 13, 'text/plain', NULL, '{}'::jsonb, '{}'::jsonb, false, 'upload',
                   'files/' || %s || '/' || u::text, now() - interval '2 days'
            FROM unnest(%s::uuid[]) AS u
            """,
            [project_id, project_id, uuids],
        )
    return uuids


def settle() -> None:
    """Vacuums what the previous phase left, so that neither phase runs beside autovacuum cleaning
    up after the other (deleting 100,000 rows sets it off, and it takes one of the two cores)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE files_file")
        cursor.execute("VACUUM ANALYZE files_event")


def naive_expiry(media: Path) -> int:
    """The baseline: one DELETE and one unlink per file, each statement its own transaction."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT uuid, storage_key FROM files_file WHERE datetime_stored IS NULL "
            "AND datetime_removed IS NULL AND datetime_uploaded < now() - interval '1 day'"
        )
        candidates = cursor.fetchall()
        removed = 0
        for file_uuid, key in candidates:
            cursor.execute("DELETE FROM files_file WHERE uuid = %s AND datetime_stored IS NULL", [file_uuid])
            if cursor.rowcount:
                os.unlink(media / key)
                removed += 1
    return removed


def filedock_expiry() -> int:
    from files.storage.tasks import expire_temporary_files

    removed = 0
    while True:
        count = expire_temporary_files()
        removed += count
        if not count:
            return removed


def warm_up(project_id: str, media: Path) -> None:
    """One tick on one expired file: imports the task and opens the broker connection."""
    from files.models import Event

    make_expired(project_id, 1, media)
    assert filedock_expiry() == 1
    Event.objects.all().delete()


def check_all_gone(project_id: str, media: Path, n: int) -> None:
    """Every blob and temporary row gone; then the emptied folder goes too, so that each phase
    starts with a new one (a folder that held 100,000 files unlinks three times slower)."""
    from files.models import File

    folder = media / "files" / project_id
    left = list(folder.iterdir())
    assert not left, f"{len(left)} blobs left behind"
    assert not File.objects.temporary().exists(), "temporary rows left behind"
    folder.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", default="5000,50000", help="numbers of expired files, comma-separated (the record: 10000,100000)"
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    work = workdir("expiry")
    media = work / "media"
    with scratch_database("expiry") as database_url, redis_server() as redis_url:
        env = production_env(database_url, redis_url, work)
        keys = bootstrap(env)
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.db import connection
        from django.utils import timezone

        from files.models import Event, File
        from files.outbox.tasks import prune_outbox, relay_outbox

        project_id = keys["project_id"]
        warm_up(project_id, media)
        header("P6", "expiry of temporary files (PostgreSQL, local disk storage)")
        for n in sizes:
            make_expired(project_id, n, media)
            settle()
            started = time.perf_counter()
            assert naive_expiry(media) == n
            naive = time.perf_counter() - started
            check_all_gone(project_id, media, n)

            make_expired(project_id, n, media)
            settle()
            started = time.perf_counter()
            removed = filedock_expiry()
            real = time.perf_counter() - started
            assert removed == n, removed
            check_all_gone(project_id, media, n)
            events = Event.objects.filter(type="file.deleted").count()
            assert events == n, f"{events} file.deleted events for {n} files"
            started = time.perf_counter()
            assert relay_outbox() == n
            relay = time.perf_counter() - started

            row(f"naive loop, {n} files", naive, "s")
            row(f"filedock expiry task, {n} files", real, "s")
            row(f"  filedock, files per second ({n})", n / real, "files/s")
            row(f"  speed-up over the naive loop ({n})", naive / real, "x", target="≥ 10x")
            row(f"  then the outbox relay of its {n} events (not in the ratio)", relay, "s")
            # Retention: the same events once past FILEDOCK_EVENT_RETENTION_DAYS, pruned by the
            # beat task as its runs would (each bounded), until a run finds none; the table is
            # back to what it held before the expiry, so it does not grow with each day's events.
            Event.objects.update(
                created_at=timezone.now() - timedelta(days=settings.FILEDOCK_EVENT_RETENTION_DAYS, hours=1)
            )
            before = Event.objects.count()
            started, runs, pruned = time.perf_counter(), 0, 0
            while deleted := prune_outbox():
                pruned, runs = pruned + deleted, runs + 1
            prune = time.perf_counter() - started
            assert pruned == before == n, (pruned, before, n)
            row(f"  then the retention prune of those {n} events ({runs} beat runs)", prune, "s")
            row("  events left in files_event after the prune", Event.objects.count(), "rows")
            File.objects.all().delete()
        connection.close()


if __name__ == "__main__":
    main()
