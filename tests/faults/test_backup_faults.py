"""Backups under faults, with real processes: `celery -A config worker -B` on a Redis of the test's
own, a backup target that is a separate moto_server the test stops and starts, and a worker killed
with SIGKILL in the middle of a multipart copy.

Guarantees checked:
- Target down: every copy fails, is recorded with its error and retried with growing delays; once
  the target is back every stored file is backed up, with the right key and bytes.
- Worker killed mid-copy: nothing half-copied shows in the bucket (an unfinished multipart upload
  is not an object); once a new worker runs, the job's lease runs out, the sweep re-sends it and
  the copy completes.

The files live in the project's custom storage (the session's moto_server) so the test process and
the workers read the same bytes.
"""

import os
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from django.db import connection

from files.models import FileBackup
from projects.services import project_create
from tests.factories import UserFactory, make_bucket, make_file
from tests.helpers import S3_KEY, S3_REGION, S3_SECRET, wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
MOTO = str(Path(sys.executable).parent / "moto_server")
Status = FileBackup.Status
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def s3(endpoint: str):
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=S3_REGION, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET
    )


class Server:
    """A process on a fixed free port that the test can stop and start again."""

    def __init__(self, command, ready):
        self.port = free_port()
        self.command, self.ready, self.process = command, ready, None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command(self.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(lambda: self.ready(self.port), 30), f"{self.command(self.port)[0]} did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _moto_ready(port: int) -> bool:
    try:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"http://127.0.0.1:{port}/moto-api/", timeout=1
        ).close()
        return True
    except OSError:
        return False


def _redis_ready(port: int) -> bool:
    result = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
    return result.stdout.strip() == "PONG"


@pytest.fixture
def target_server():
    """The backup target: a moto_server of this test's own, separate from the files' storage."""
    server = Server(lambda port: [MOTO, "-H", "127.0.0.1", "-p", str(port)], _moto_ready)
    server.start()
    server.endpoint = f"http://127.0.0.1:{server.port}"
    yield server
    server.stop()


@pytest.fixture
def redis_url():
    """A redis-server of the test's own: never the machine's shared one."""
    server = Server(
        lambda port: ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        _redis_ready,
    )
    server.start()
    yield f"redis://127.0.0.1:{server.port}/0"
    server.stop()


@pytest.fixture
def workers(redis_url, tmp_path):
    """Starts `celery -A config worker -B` processes against the test database; kills them at the end."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{database['USER'] or 'root'}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "FILEDOCK_CELERY_VISIBILITY_TIMEOUT": "3600",  # recovery must come from the lease, not Redis
        "FILEDOCK_BACKUP_RETRY_BASE": "1",
        "FILEDOCK_BACKUP_RETRY_MAX": "3",
        "FILEDOCK_BACKUP_LEASE": "5",
        "FILEDOCK_BACKUP_SWEEP_GRACE": "0",
        # The backfill, the outbox relay and a dead worker's copy wait for these sweeps: every second,
        # not every 10 and 5 s.
        "FILEDOCK_BEAT_INTERVALS": "sweep-backups=1,relay-outbox=1",
        "FILEDOCK_VAR_DIR": str(tmp_path),
    }
    processes = []

    def start(**extra):
        n = len(processes)
        log = open(tmp_path / f"worker-{n}.log", "w")  # noqa: SIM115 (the process writes to it after this returns)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-B",
                    "-s",
                    str(tmp_path / f"beat-{n}"),
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"backup{n}@%h",
                ],
                cwd=ROOT,
                env={**env, **extra},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        return processes[-1]

    def kill(process):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def logs() -> str:
        return "\n".join((tmp_path / f"worker-{n}.log").read_text()[-3000:] for n in range(len(processes)))

    start.kill, start.logs = kill, logs
    yield start
    for process in processes:
        kill(process)


@pytest.fixture
def project(moto_endpoint):
    """A project whose files live in its own bucket on the session's moto_server."""
    project = project_create(owner=UserFactory(), name="backup faults")
    source = f"source-{uuid.uuid4().hex[:8]}"
    s3(moto_endpoint).create_bucket(Bucket=source)
    make_bucket(project, moto_endpoint, source, purpose="storage")
    return project


def jobs(**filters):
    return FileBackup.objects.filter(**filters)


@pytest.mark.django_db(transaction=True)
def test_target_down_then_up_every_stored_file_is_backed_up(project, target_server, workers):
    before = [make_file(project, f"before-{i}.txt", f"before {i}".encode()) for i in range(3)]
    s3(target_server.endpoint).create_bucket(Bucket="backups")
    make_bucket(project, target_server.endpoint, "backups", prefix="fd/")
    target_server.stop()  # down before any worker ran
    after = [make_file(project, f"after-{i}.txt", f"after {i}".encode()) for i in range(3)]
    make_file(project, "temporary.txt", b"not stored", store=False)
    workers()

    # Backfill and outbox both make jobs; every copy fails, is recorded and retried.
    assert wait_until(lambda: jobs(attempts__gte=2).count() == 6, 60), workers.logs()
    assert jobs().count() == 6 and not jobs(status=Status.DONE).exists()
    assert all("Could not connect" in error for error in jobs().values_list("last_error", flat=True))

    target_server.start()
    s3(target_server.endpoint).create_bucket(Bucket="backups")  # moto keeps nothing across restarts
    assert wait_until(lambda: jobs(status=Status.DONE).count() == 6, 60), workers.logs()
    for file in [*before, *after]:
        body = s3(target_server.endpoint).get_object(Bucket="backups", Key=f"fd/{file.uuid}/{file.original_filename}")
        assert body["Body"].read() == file.original_filename.removesuffix(".txt").replace("-", " ").encode()
    assert s3(target_server.endpoint).list_objects_v2(Bucket="backups")["KeyCount"] == 6
    assert set(jobs().values_list("last_error", flat=True)) == {""}


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_copy_completes_after_restart(project, target_server, workers):
    # 8 MiB/s: the 24 MiB copy takes three seconds; it is killed once its first part arrived (two
    # 5 MiB parts go at a time), some 14 MiB before its end. The worker boots while the file is made.
    first = workers(FILEDOCK_BACKUP_MAX_BANDWIDTH=str(8 * MiB))
    data = os.urandom(24 * MiB)
    big = make_file(project, "big.bin", data)
    target = s3(target_server.endpoint)
    target.create_bucket(Bucket="backups")
    make_bucket(project, target_server.endpoint, "backups")

    def mid_copy() -> bool:
        uploads = target.list_multipart_uploads(Bucket="backups").get("Uploads", [])
        if not uploads:
            return False
        parts = target.list_parts(Bucket="backups", Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"])
        return len(parts.get("Parts", [])) >= 1

    assert wait_until(mid_copy, 60), workers.logs()
    workers.kill(first)
    job = jobs(file=big).get()
    assert job.status == Status.COPYING and job.attempts == 1
    assert target.list_objects_v2(Bucket="backups")["KeyCount"] == 0  # nothing half-copied is visible

    workers()  # no bandwidth limit this time
    assert wait_until(lambda: jobs(file=big, status=Status.DONE).exists(), 90), workers.logs()
    job.refresh_from_db()
    assert job.attempts == 2 and job.last_error == ""
    copied = target.get_object(Bucket="backups", Key=f"{big.uuid}/big.bin")
    assert copied["ContentLength"] == len(data) and copied["Body"].read() == data


@pytest.mark.django_db(transaction=True)
def test_target_stopped_mid_copy_every_stored_file_is_backed_up_once_it_is_back(project, target_server, workers):
    """The target goes down after the first part of a large copy has arrived: the broken copy is
    recorded and retried, nothing half-copied shows, and once it is back every stored file (the
    large one and small ones uploaded while it was down) is backed up with all its bytes."""
    # 8 MiB/s: the 24 MiB copy takes three seconds; the target is stopped after its first part. The
    # worker boots while the file is made.
    workers(FILEDOCK_BACKUP_MAX_BANDWIDTH=str(8 * MiB))
    data = os.urandom(24 * MiB)
    big = make_file(project, "big.bin", data)
    target = s3(target_server.endpoint)
    target.create_bucket(Bucket="backups")
    make_bucket(project, target_server.endpoint, "backups")

    def mid_copy() -> bool:
        uploads = target.list_multipart_uploads(Bucket="backups").get("Uploads", [])
        return any(
            target.list_parts(Bucket="backups", Key=u["Key"], UploadId=u["UploadId"]).get("Parts") for u in uploads
        )

    assert wait_until(mid_copy, 60), workers.logs()
    target_server.stop()
    small = {make_file(project, f"small-{i}.txt", f"small {i}".encode()): f"small {i}".encode() for i in range(3)}
    assert wait_until(
        lambda: jobs(file=big, status=Status.PENDING, attempts__gte=1).exclude(last_error="").exists(), 60
    ), workers.logs()
    assert not jobs(status=Status.DONE, file=big).exists()

    target_server.start()
    target.create_bucket(Bucket="backups")  # moto keeps nothing across restarts
    assert wait_until(lambda: jobs(status=Status.DONE).count() == 4, 90), (list(jobs().values()), workers.logs())
    copied = target.get_object(Bucket="backups", Key=f"{big.uuid}/big.bin")
    assert copied["ContentLength"] == len(data) and copied["Body"].read() == data
    for file, content in small.items():
        assert (
            target.get_object(Bucket="backups", Key=f"{file.uuid}/{file.original_filename}")["Body"].read() == content
        )
    assert target.list_objects_v2(Bucket="backups")["KeyCount"] == 4
    assert set(jobs().values_list("last_error", flat=True)) == {""}
    assert jobs(file=big).get().attempts >= 2
