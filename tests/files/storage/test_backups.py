"""Backups to a project's bucket on a real S3 API (moto_server): jobs, backfill, retries, a real worker."""

import os
import tracemalloc
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from files import services
from files.models import BucketConnection, FileBackup
from files.outbox import relay as outbox
from files.storage import backups
from files.storage import buckets as storage_targets
from files.storage.backends import s3_client, storage_for_target
from tests.factories import make_bucket, make_file
from tests.helpers import S3_KEY, S3_REGION, Crew, lock_waiters, run_open_jobs, s3, wait_until

Status = FileBackup.Status


@pytest.fixture
def bucket(moto_endpoint) -> str:
    """A fresh bucket on the session's moto_server."""
    name = f"backup-{uuid.uuid4().hex[:12]}"
    s3(moto_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def only_backups(settings):
    """The relay hands events to the backup consumer alone (webhooks are tested elsewhere)."""
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["files.storage.backups.jobs_for_events"]


def object_bytes(endpoint: str, bucket: str, key: str) -> bytes:
    return s3(endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()


def test_stored_file_is_copied_to_prefix_uuid_filename(team, moto_endpoint, bucket, only_backups):
    target = make_bucket(team.project, moto_endpoint, bucket, prefix="filedock/")
    file = make_file(team.project, "report final.txt", b"quarterly numbers\n")
    outbox.outbox_relay()
    job = FileBackup.objects.get(file=file, target=target)
    assert job.status == Status.PENDING
    assert backups.backup_run(backup_id=job.pk) == Status.DONE
    job.refresh_from_db()
    assert job.status == Status.DONE and job.attempts == 1 and job.copied_at and job.last_error == ""
    key = f"filedock/{file.uuid}/report final.txt"
    assert object_bytes(moto_endpoint, bucket, key) == b"quarterly numbers\n"
    assert s3(moto_endpoint).head_object(Bucket=bucket, Key=key)["ContentType"] == "text/plain"
    # A second message for the same job is a no-op.
    assert backups.backup_run(backup_id=job.pk) == "not-due"


def test_a_temporary_file_is_backed_up_once_stored(team, moto_endpoint, bucket, only_backups):
    target = make_bucket(team.project, moto_endpoint, bucket)
    file = make_file(team.project, store=False)
    outbox.outbox_relay()
    assert not FileBackup.objects.exists()
    services.file_store(file=file)
    outbox.outbox_relay()
    assert FileBackup.objects.get(file=file, target=target).status == Status.PENDING


def test_no_jobs_without_a_backup_bucket(team, only_backups):
    make_file(team.project)
    outbox.outbox_relay()
    assert not FileBackup.objects.exists()


def test_a_relay_batch_makes_jobs_for_stored_files_of_projects_with_a_bucket_only(
    team, moto_endpoint, bucket, only_backups
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from projects.services import project_create

    target = make_bucket(team.project, moto_endpoint, bucket)
    other = project_create(owner=team.owner, name="no bucket")
    kept = [make_file(team.project, name=f"{i}.txt") for i in range(3)]
    make_file(team.project, name="t.txt", store=False)
    elsewhere = [make_file(other, name=f"{i}.txt") for i in range(5)]
    with CaptureQueriesContext(connection) as relay:
        # A file stored at upload has two events: file.uploaded, then file.stored.
        assert outbox.outbox_relay() == 2 * len(kept) + 1 + 2 * len(elsewhere)
    assert set(FileBackup.objects.values_list("file_id", "target_id")) == {(file.pk, target.pk) for file in kept}
    # One query for the targets and one for the files, whatever the batch's size.
    backup_queries = [
        q
        for q in relay.captured_queries
        if "files_bucketconnection" in q["sql"] or ('"files_file"' in q["sql"] and "files_filebackup" not in q["sql"])
    ]
    assert len(backup_queries) == 2, [q["sql"] for q in backup_queries]


def test_backfill_copies_existing_stored_files_in_batches_with_progress(team, moto_endpoint, bucket, only_backups):
    stored = [make_file(team.project, f"{i}.txt", f"file {i}".encode()) for i in range(5)]
    make_file(team.project, "temporary.txt", store=False)
    services.file_delete(file=make_file(team.project, "removed.txt"))
    outbox.outbox_relay()  # events from before the connection: no jobs
    target = make_bucket(team.project, moto_endpoint, bucket, prefix="b/")
    assert backups.backup_progress(target=target)["backfilling"]

    looked_at = []
    while (count := backups.backfill_step(target_id=target.pk, batch=2)) is not None:
        looked_at.append(count)
    assert looked_at == [2, 2, 1]
    target.refresh_from_db()
    assert target.backfill_done_at is not None
    progress = backups.backup_progress(target=target)
    assert (progress["total"], progress["done"], progress["pending"], progress["percent"]) == (5, 0, 5, 0)
    assert progress["lag"] is not None and progress["busy"]

    run_open_jobs(target)
    progress = backups.backup_progress(target=target)
    assert (progress["done"], progress["percent"], progress["busy"], progress["lag"]) == (5, 100, False, None)
    for i, file in enumerate(stored):
        assert object_bytes(moto_endpoint, bucket, f"b/{file.uuid}/{i}.txt") == f"file {i}".encode()
    listed = s3(moto_endpoint).list_objects_v2(Bucket=bucket)["Contents"]
    assert len(listed) == 5  # not the temporary or the removed file


def test_backfill_and_events_never_make_two_jobs_for_a_file(team, moto_endpoint, bucket, only_backups):
    make_file(team.project)
    target = make_bucket(team.project, moto_endpoint, bucket)
    backups.backfill_run(target_id=target.pk)
    outbox.outbox_relay()  # the file.uploaded event arrives after the backfill made the job
    assert FileBackup.objects.filter(target=target).count() == 1


def test_a_file_deleted_before_its_backup_ran_is_skipped(team, moto_endpoint, bucket, only_backups):
    target = make_bucket(team.project, moto_endpoint, bucket)
    backups.backfill_run(target_id=target.pk)
    file = make_file(team.project)
    outbox.outbox_relay()
    services.file_delete(file=file)
    job = FileBackup.objects.get(file=file)
    assert backups.backup_run(backup_id=job.pk) == Status.SKIPPED
    assert "Contents" not in s3(moto_endpoint).list_objects_v2(Bucket=bucket)
    target.refresh_from_db()
    assert backups.backup_progress(target=target)["busy"] is False


def test_disconnect_cancels_waiting_copies_and_deletes_nothing(team, moto_endpoint, bucket, only_backups):
    target = make_bucket(team.project, moto_endpoint, bucket)
    first, second = make_file(team.project, "1.txt"), make_file(team.project, "2.txt")
    outbox.outbox_relay()
    backups.backup_run(backup_id=FileBackup.objects.get(file=first).pk)
    storage_targets.bucket_disconnect(target=target)
    waiting = FileBackup.objects.get(file=second)
    assert waiting.status == Status.CANCELLED
    assert backups.backup_run(backup_id=waiting.pk) == "not-due"
    assert object_bytes(moto_endpoint, bucket, f"{first.uuid}/1.txt") == b"hello"  # still there
    make_file(team.project, "3.txt")
    outbox.outbox_relay()
    assert FileBackup.objects.count() == 2  # no new jobs once disconnected


def test_a_target_that_is_down_is_retried_with_growing_delays(team, settings, only_backups):
    settings.FILEDOCK_BACKUP_RETRY_BASE, settings.FILEDOCK_BACKUP_RETRY_MAX = 10, 35
    settings.FILEDOCK_BACKUP_MAX_ATTEMPTS = 4
    # Connected while up; now nothing listens on its port.
    target = BucketConnection.objects.create(
        project=team.project,
        purpose="backup",
        endpoint_url="http://127.0.0.1:9",
        region=S3_REGION,
        bucket="gone",
        access_key=S3_KEY,
        secret_key="very-secret-value",
        backfill_done_at=timezone.now(),
    )
    file = make_file(team.project)
    outbox.outbox_relay()
    job = FileBackup.objects.get(file=file, target=target)
    delays = []
    for attempt in range(1, 5):
        before = timezone.now()
        status = backups.backup_run(backup_id=job.pk)
        after = timezone.now()
        job.refresh_from_db()
        assert job.attempts == attempt and job.last_error
        assert "very-secret-value" not in job.last_error
        if attempt < 4:
            assert status == Status.PENDING
            # The delay counts from the failure, somewhere between `before` and `after` (a slow machine).
            longest, shortest = ((job.next_attempt_at - at).total_seconds() for at in (before, after))
            delays.append(next(d for d in (10, 20, 35, round(longest)) if shortest - 0.01 <= d <= longest + 0.01))
            assert backups.backup_run(backup_id=job.pk) == "not-due"  # not before its time
            FileBackup.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert delays == [10, 20, 35]
    assert job.status == Status.FAILED and job.next_attempt_at is None
    assert backups.backup_progress(target=target)["failures"] == [job]
    assert backups.backup_retry_failed(target=target) == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.PENDING, 0)


def test_sweep_resends_lost_messages_and_jobs_of_dead_workers(team, moto_endpoint, bucket, only_backups, broker_queue):
    target = make_bucket(team.project, moto_endpoint, bucket)
    backups.backfill_run(target_id=target.pk)
    _fresh, lost, dead, leased = (make_file(team.project, f"{n}.txt") for n in ("fresh", "lost", "dead", "leased"))
    outbox.outbox_relay()
    now = timezone.now()
    FileBackup.objects.filter(file=lost).update(next_attempt_at=now - timedelta(minutes=5))
    FileBackup.objects.filter(file=dead).update(status=Status.COPYING, next_attempt_at=now - timedelta(seconds=1))
    FileBackup.objects.filter(file=leased).update(status=Status.COPYING, next_attempt_at=now + timedelta(minutes=5))
    broker_queue.redis.delete(broker_queue.name)  # only what the sweep sends
    assert backups.backup_sweep() == 2
    sent = [backup_id for (backup_id,) in broker_queue.args(backups.BACKUP_TASK)]
    assert sorted(sent) == sorted(FileBackup.objects.filter(file__in=[lost, dead]).values_list("pk", flat=True))
    assert backups.backup_run(backup_id=FileBackup.objects.get(file=dead).pk) == Status.DONE
    assert backups.backup_run(backup_id=FileBackup.objects.get(file=leased).pk) == "not-due"


def test_a_large_file_is_copied_in_parts_with_flat_memory(team, moto_endpoint, bucket, only_backups):
    """40 MiB read from the project's own bucket (a stream that cannot seek) into the backup bucket
    through boto3's managed transfer: a multipart upload that never holds more than a few parts."""
    source = f"source-{uuid.uuid4().hex[:8]}"
    s3(moto_endpoint).create_bucket(Bucket=source)
    make_bucket(team.project, moto_endpoint, source, purpose="storage")
    data = os.urandom(40 * 1024 * 1024)
    file = make_file(team.project, "big.bin", data)
    assert file.storage_target is not None
    target = make_bucket(team.project, moto_endpoint, bucket)
    backups.backfill_run(target_id=target.pk)
    job = FileBackup.objects.get(file=file)
    config = backups.transfer_config(file.size)
    assert (config.multipart_chunksize, config.max_in_memory_upload_chunks) == (5 * 1024 * 1024, 2)
    s3_client(target)  # made once per process and connection (botocore's models are ~10 MB)

    tracemalloc.start()
    try:
        assert backups.backup_run(backup_id=job.pk) == Status.DONE
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    head = s3(moto_endpoint).head_object(Bucket=bucket, Key=f"{file.uuid}/big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-8")  # moto saw a multipart upload of eight 5 MiB parts
    assert object_bytes(moto_endpoint, bucket, f"{file.uuid}/big.bin") == data
    assert peak < 20 * 1024 * 1024, peak  # less than half the file


def test_parts_grow_only_for_files_beyond_the_part_limit():
    assert backups.transfer_config(1).multipart_chunksize == 5 * 1024 * 1024
    assert backups.transfer_config(100 * 1024**3).multipart_chunksize == -(-100 * 1024**3 // backups.PARTS_MAX)


@pytest.mark.celery_worker
def test_a_real_worker_backfills_and_copies_new_files(team, moto_endpoint, bucket, only_backups, celery_worker):
    before = [make_file(team.project, f"old-{i}.txt", f"old {i}".encode()) for i in range(3)]
    target = make_bucket(team.project, moto_endpoint, bucket, prefix="live/")
    assert wait_until(lambda: backups.backup_progress(target=target)["done"] == 3, timeout=30)
    new = make_file(team.project, "new.txt", b"new")
    assert wait_until(lambda: FileBackup.objects.filter(file=new, status=Status.DONE).exists(), timeout=30)
    for file in [*before, new]:
        assert object_bytes(moto_endpoint, bucket, f"live/{file.uuid}/{file.original_filename}")
    target.refresh_from_db()
    assert target.backfill_done_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_copy_the_same_job_twice(team, moto_endpoint, bucket, only_backups):
    """Staged: three workers claim the same job at once; the job's row is held locked until all
    three claims wait on it, so their UPDATEs meet the row together and PostgreSQL re-checks the
    claim's condition for the second and third."""
    target = make_bucket(team.project, moto_endpoint, bucket)
    file = make_file(team.project)
    backups.backfill_run(target_id=target.pk)
    job = FileBackup.objects.get(file=file)
    results = []
    crew = Crew()
    crew.add(lambda: results.append(backups.backup_run(backup_id=job.pk)), count=3)
    with transaction.atomic():
        FileBackup.objects.select_for_update().get(pk=job.pk)
        crew.start()
        assert wait_until(lambda: lock_waiters() == 3), "the workers never all waited on the job's row"
    crew.join()
    assert sorted(results) == [Status.DONE, "not-due", "not-due"]
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.DONE, 1)
    assert object_bytes(moto_endpoint, bucket, f"{file.uuid}/a.txt") == b"hello"


def test_an_endpoint_that_turns_inward_after_its_test_gets_no_bytes(
    team, moto_endpoint, bucket, only_backups, settings
):
    """The bucket passed its connection test (loopback is allowed in tests, as a public address
    would be); then its name resolves somewhere the guard refuses. Each request is checked when it
    is sent, so the copy is refused, not sent, and the job says why."""
    by_name = moto_endpoint.replace("127.0.0.1", "localhost")  # a host name, resolved when connecting
    target = make_bucket(team.project, by_name, bucket)
    file = make_file(team.project, "secret.txt", b"payroll")
    outbox.outbox_relay()
    settings.FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = []  # where the name resolves is now refused
    run_open_jobs(target)
    job = FileBackup.objects.get(target=target, file=file)
    assert job.status != Status.DONE and "refused" in job.last_error.lower()
    assert s3(moto_endpoint).list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    with pytest.raises(Exception, match="Only public IPs"):  # custom storage goes through the same guard
        storage_for_target(target).exists("anything")
