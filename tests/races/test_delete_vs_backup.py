"""Deletes racing backup copies of the same files, in real concurrency, on a real S3 API.

Deleter threads call `file_delete` (what the REST API, the dashboard and the admin call) while
backup threads run the `backup_file` task for every job, each job more than once, each thread
with its own PostgreSQL connection. The files live on the default storage: local disk, and S3
(moto_server) in the second run.

What "no half state" means, from files/backups.py: a backup is a copy of a file that was stored
when the copy ran, and it outlives a later delete (that is what a backup is for), so
  - no job is left open (pending or copying) once every run has returned;
  - a job is `done` exactly when the bucket holds the whole file at `{prefix}{uuid}/{filename}`,
    byte for byte, whether or not the file was deleted during or after the copy;
  - a job is `skipped` only for a deleted file whose copy never started or could not read the
    bytes (they were gone), and then the bucket holds nothing for it, not even an unfinished
    multipart upload;
  - a file that was not deleted is backed up; a deleted file has no bytes left in storage.
"""

import random
import threading
import time
import uuid
from collections import Counter
from functools import partial

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from files import services
from files.models import File, FileBackup
from files.storage import backups, tasks
from files.storage import buckets as storage_targets
from projects.services import project_create
from tests.factories import UserFactory
from tests.helpers import S3_KEY, S3_REGION, S3_SECRET, Crew
from tests.races.bulk import body_of, make_files

Status = FileBackup.Status
FILES = 150
LARGE = 3  # above the 5 MiB part size: copied as multipart uploads
DELETERS = 3
BACKUPERS = 4  # every job is run by two of them


def s3(endpoint: str):
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=S3_REGION, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET
    )


def bucket_keys(client, bucket: str) -> set[str]:
    keys = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys |= {item["Key"] for item in page.get("Contents", [])}
    return keys


@pytest.fixture(params=["disk", "s3"])
def default_storage_kind(request):
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return request.param


@pytest.fixture
def purge_queue():
    """Deletes and relay wake-ups queue messages that no worker here takes: drop them after."""
    yield
    from config.celery import app

    app.control.purge()


@pytest.mark.django_db(transaction=True)
def test_a_deleted_files_backup_is_whole_or_absent(
    default_storage_kind,
    moto_endpoint,
    settings,
    purge_queue,
):
    settings.FILEDOCK_OUTBOX_CONSUMERS = []  # no relay work here: the jobs come from the backfill
    client = s3(moto_endpoint)
    bucket = f"backup-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    project = project_create(owner=UserFactory(), name="delete vs backup")
    target = storage_targets.bucket_connect(
        project=project,
        purpose="backup",
        provider="custom",
        endpoint_url=moto_endpoint,
        region=S3_REGION,
        bucket=bucket,
        access_key=S3_KEY,
        secret_key=S3_SECRET,
        prefix="race/",
    )
    files = make_files(project, FILES, stored=True)
    large = b"L" * (6 * 1024 * 1024)
    for index in range(LARGE):
        files.append(
            services.file_upload(
                project=project,
                content=ContentFile(large, name=f"large{index}.bin"),
                filename=f"large{index}.bin",
                store=True,
            )
        )
    backups.backfill_run(target_id=target.pk)
    jobs = list(FileBackup.objects.filter(target=target).values_list("pk", flat=True))
    assert len(jobs) == len(files)
    doomed = random.sample(files, len(files) // 2)
    results = Counter()
    lock = threading.Lock()

    def deleter(part: int) -> None:
        # Each doomed file is deleted by two deleters; short pauses spread the deletes over the copies.
        for file in doomed[part::DELETERS] + doomed[(part + 1) % DELETERS :: DELETERS]:
            services.file_delete(file=File.objects.get(pk=file.pk))
            time.sleep(random.random() * 0.04)

    def backuper(part: int) -> None:
        mine = jobs[part % 2 :: 2]
        random.shuffle(mine)
        for job in mine:
            result = tasks.backup_file(job)
            with lock:
                results[result] += 1

    crew = Crew()
    for part in range(DELETERS):
        crew.add(partial(deleter, part))
    for part in range(BACKUPERS):
        crew.add(partial(backuper, part))
    started = time.monotonic()
    crew.run()
    elapsed = time.monotonic() - started

    rows = {f.pk: f for f in File.objects.filter(project=project)}
    states = {b.file_id: b for b in FileBackup.objects.filter(target=target)}
    in_bucket = bucket_keys(client, bucket)
    doomed_ids = {f.pk for f in doomed}
    print(
        f"\n{default_storage_kind}: {len(files)} files, {len(doomed)} deleted, {sum(results.values())} task runs "
        f"in {elapsed:.1f} s: {dict(results)}; deleted files' backups: "
        f"{dict(Counter(states[pk].status for pk in doomed_ids))}"
    )

    assert not [b for b in states.values() if b.is_open], "a backup job was left open"
    assert results["not-due"] == len(jobs), "each job is run twice and copied once"
    done_keys = set()
    for file in files:
        row, job = rows[file.pk], states[file.pk]
        key = f"race/{file.uuid}/{file.original_filename}"
        if file.pk in doomed_ids:
            assert row.is_removed and not default_storage.exists(row.storage_key)
            assert job.status in (Status.DONE, Status.SKIPPED), job
        else:
            assert not row.is_removed and default_storage.exists(row.storage_key)
            assert job.status == Status.DONE, job
        if job.status == Status.DONE:
            done_keys.add(key)
            expected = (
                large
                if file.original_filename.startswith("large")
                else body_of(int(file.original_filename.split(".")[0]))
            )
            assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == expected, key
            assert job.copied_at is not None
    assert in_bucket == done_keys, "the bucket holds exactly the copies the jobs say are done"
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads"), "an unfinished multipart upload"
