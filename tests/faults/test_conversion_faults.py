"""Conversions under faults, with real processes: `celery -A config worker -B` on production
settings and a Redis of the test's own, killed with SIGKILL while ffmpeg encodes.

Guarantee checked: nothing of the result shows while the job is unfinished; once a new worker
runs, the job's lease runs out, it is sent again (Redis's redelivery or the beat sweep) and the
conversion completes on its second attempt, with exactly one result file and one thumbnails
group. ffmpeg dies with the worker that started it (PR_SET_PDEATHSIG).

The test process and the workers share the database and a media folder on local disk.
"""

import subprocess

import pytest
from celery import Celery
from django.core.files.base import ContentFile
from django.db import connection

from files.conversions.jobs import RUN_TASK, conversions_create
from files.models import Conversion, File, Group
from files.services import file_upload
from projects.services import project_create
from tests.factories import UserFactory
from tests.faults.processes import Workers, database_url, server_env
from tests.files.conversions.samples import mp4
from tests.helpers import wait_until

Status = Conversion.Status


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


@pytest.fixture
def workers(media, redis_server):
    env = server_env(
        database_url(connection.settings_dict),
        redis_server.url,
        media,
        FILEDOCK_CONVERSION_TIME_LIMIT="60",
        FILEDOCK_CONVERSION_LEASE="6",  # short for the test (a retry takes ~1 s): a dead worker's job is due soon
        FILEDOCK_CELERY_VISIBILITY_TIMEOUT="3600",  # recovery must come from the lease
        FILEDOCK_BEAT_INTERVALS="sweep-conversions=1",  # ... and the sweep: at once, not up to 30 s later
    )
    started = Workers(env, media)
    yield started
    started.close()


def ffmpeg_running() -> bool:
    return subprocess.run(["pgrep", "-f", "ffmpeg .*filedock-convert-"], capture_output=True).returncode == 0


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_conversion_completes_on_retry(media, workers, redis_server):
    first = workers.start()  # it boots while the job is made
    project = project_create(owner=UserFactory(), name="conversion faults")
    # Long enough to encode (a second or more on a loaded machine) that the kill lands mid-encode.
    data = mp4(seconds=10, size="640x360")
    source = file_upload(project=project, content=ContentFile(data, name="long.mp4"), filename="long.mp4", store=True)
    [conversion] = conversions_create(
        project=project, kind="video", paths=[f"{source.uuid}/video/-/format/webm/-/thumbs~3/"]
    ).conversions
    Celery(broker=redis_server.url).send_task(RUN_TASK, args=[str(conversion.pk)])  # the workers' broker

    assert wait_until(ffmpeg_running, 60), workers.logs()
    workers.kill(first)
    # It died with its worker: gone at once, long before the encode it was in the middle of could end.
    assert wait_until(lambda: not ffmpeg_running(), 0.5)
    conversion.refresh_from_db()
    assert conversion.status == Status.PROCESSING and conversion.attempts == 1
    assert not File.objects.filter(pk=conversion.result_uuid).exists()

    workers.start()
    assert wait_until(lambda: Conversion.objects.get(pk=conversion.pk).status == Status.FINISHED, 120), (
        Conversion.objects.filter(pk=conversion.pk).values("status", "attempts", "error").first(),
        workers.logs(),
    )
    conversion.refresh_from_db()
    assert conversion.attempts == 2 and conversion.error == ""
    assert File.objects.get(pk=conversion.result_uuid).mime_type == "video/webm"
    assert File.objects.filter(project=project, source="conversion").count() == 4  # the video, 3 thumbnails
    assert Group.objects.get(pk=conversion.thumbnails_group_id).files_count == 3
