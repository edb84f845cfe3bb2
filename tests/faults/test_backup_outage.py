"""The backup target goes down in the middle of a copy, with real processes: `celery worker -B` copying
a large file part by part to a moto_server the test stops after the first part has arrived.
(test_backup_faults.py covers a target that is down before any copy starts, and a worker killed
mid-copy.)

Guarantees checked:
- The broken copy is recorded with its error and retried; nothing half-copied shows in the bucket.
- Once the target is back, every stored file (the large one, and small ones uploaded while it was
  down) is backed up with all its bytes, and every job ends done with its error cleared.
"""

import os

import pytest

from tests.conftest import wait_until
from tests.faults.test_backup_faults import (  # noqa: F401 (fixtures)
    Status,
    jobs,
    moto_endpoint,
    project,
    redis_url,
    s3,
    target_server,
    workers,
)
from tests.files.test_backups import connect, upload

MiB = 1024 * 1024


@pytest.mark.django_db(transaction=True)
def test_target_stopped_mid_copy_every_stored_file_is_backed_up_once_it_is_back(project, target_server,  # noqa: F811
                                                                                  workers):  # noqa: F811
    data = os.urandom(16 * MiB)
    big = upload(project, "big.bin", data)
    target = s3(target_server.endpoint)
    target.create_bucket(Bucket="backups")
    connect(project, target_server.endpoint, "backups")
    # 4 MiB/s: the 16 MiB copy takes about four seconds; the target is stopped after its first part.
    workers(FILEDOCK_BACKUP_MAX_BANDWIDTH=str(4 * MiB))

    def mid_copy() -> bool:
        uploads = target.list_multipart_uploads(Bucket="backups").get("Uploads", [])
        return any(target.list_parts(Bucket="backups", Key=u["Key"], UploadId=u["UploadId"]).get("Parts")
                   for u in uploads)

    assert wait_until(mid_copy, 60), workers.logs()
    target_server.stop()
    small = {upload(project, f"small-{i}.txt", f"small {i}".encode()): f"small {i}".encode() for i in range(3)}
    assert wait_until(lambda: jobs(file=big, status=Status.PENDING, attempts__gte=1).exclude(last_error="").exists(),
                      60), workers.logs()
    assert not jobs(status=Status.DONE, file=big).exists()

    target_server.start()
    target.create_bucket(Bucket="backups")  # moto keeps nothing across restarts
    assert wait_until(lambda: jobs(status=Status.DONE).count() == 4, 90), (list(jobs().values()), workers.logs())
    copied = target.get_object(Bucket="backups", Key=f"{big.uuid}/big.bin")
    assert copied["ContentLength"] == len(data) and copied["Body"].read() == data
    for file, content in small.items():
        assert target.get_object(Bucket="backups", Key=f"{file.uuid}/{file.original_filename}")["Body"].read() == content
    assert target.list_objects_v2(Bucket="backups")["KeyCount"] == 4
    assert set(jobs().values_list("last_error", flat=True)) == {""}
    assert jobs(file=big).get().attempts >= 2
