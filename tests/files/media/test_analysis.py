"""The background analysis of video and audio files: idempotent, swept, and harmless without ffprobe."""

import logging
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from files import services
from files.info import rest_file_info, upload_file_info
from files.media import analysis
from files.models import Event, File
from files.services import MEDIA_ANALYSE_TASK
from projects.services import project_create
from tests.factories import UserFactory, make_file


@pytest.fixture
def project(db):
    return project_create(owner=UserFactory(), name="media")


@pytest.fixture(scope="module")
def mp4_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    arguments = ["-f", "lavfi", "-i", "testsrc=size=32x24:rate=5", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", *arguments, "-y", str(path)], check=True)
    return path.read_bytes()


def upload(project, data: bytes, name: str = "clip.mp4") -> File:
    return make_file(project, name=name, data=data, store=False)


def test_analysing_twice_writes_and_announces_once(project, mp4_bytes):
    file = upload(project, mp4_bytes)
    assert analysis.media_analyse(file_uuid=file.uuid) is True
    assert analysis.media_analyse(file_uuid=file.uuid) is False
    file.refresh_from_db()
    assert file.media_info["video"]["video"][0]["width"] == 32
    assert Event.objects.filter(file_uuid=file.uuid, type="file.info_updated").count() == 1
    legacy = upload_file_info(file)["video_info"]  # the Upload API's older single-stream shape
    assert legacy["video"]["codec"] == "h264" and legacy["audio"] is None
    assert upload_file_info(file)["content_info"] == rest_file_info(file)["content_info"]


def test_an_analysis_finishing_after_another_writes_nothing(project, mp4_bytes):
    """Two analyses of one file that both started before either wrote: the second finds it done."""
    file = upload(project, mp4_bytes)
    late = File.objects.get(pk=file.pk)
    first, second = {"video": {"duration": 1}}, {"video": {"duration": 2}}
    assert services.file_media_info_set(file=file, media_info=first) is True
    assert services.file_media_info_set(file=late, media_info=second) is False
    assert File.objects.get(pk=file.pk).media_info == first
    [event] = Event.objects.filter(file_uuid=file.uuid, type="file.info_updated")
    assert event.initiator["type"] == "system" and event.initiator["detail"]["reason"] == "media_analysis"


def test_without_ffprobe_uploads_work_and_the_info_stays_null(project, mp4_bytes, monkeypatch, caplog):
    monkeypatch.setenv("PATH", "/nonexistent")  # `make run` on a machine without Debian's ffmpeg
    file = upload(project, mp4_bytes)
    with caplog.at_level(logging.WARNING, logger="files.media.analysis"):
        assert analysis.media_analyse(file_uuid=file.uuid) is False
        assert analysis.media_sweep() == 0
    file.refresh_from_db()
    assert file.media_info is None and "video" not in rest_file_info(file)["content_info"]
    assert "ffprobe is not installed" in caplog.text
    assert not Event.objects.filter(file_uuid=file.uuid, type="file.info_updated").exists()


def test_a_file_ffprobe_cannot_read_is_marked_analysed_without_info(project):
    file = upload(project, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)  # an MP4 header and nothing else
    assert file.mime_type.startswith("video/")
    assert analysis.media_analyse(file_uuid=file.uuid) is True
    file.refresh_from_db()
    assert file.media_info == {} and "video" not in rest_file_info(file)["content_info"]
    assert not Event.objects.filter(file_uuid=file.uuid, type="file.info_updated").exists()


def test_the_sweep_sends_media_files_never_analysed(project, mp4_bytes, broker_queue):
    old, recent, done = upload(project, mp4_bytes), upload(project, mp4_bytes), upload(project, mp4_bytes)
    text = upload(project, b"plain words", name="notes.txt")
    removed = services.file_delete(file=upload(project, mp4_bytes))
    File.objects.exclude(pk=recent.pk).update(datetime_uploaded=timezone.now() - timedelta(hours=1))
    File.objects.filter(pk=done.pk).update(media_info={})
    assert analysis.media_sweep() == 1
    assert broker_queue.args(MEDIA_ANALYSE_TASK) == [[str(old.uuid)]]
    assert text.uuid and removed.uuid  # neither a non-media file nor a removed one is sent


def test_an_audio_upload_is_sent_for_analysis_and_gets_its_audio_info(
    project, tmp_path, broker_queue, django_capture_on_commit_callbacks
):
    path = tmp_path / "tone.wav"
    arguments = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", *arguments, "-y", str(path)], check=True)
    with django_capture_on_commit_callbacks(execute=True):
        file = upload(project, path.read_bytes(), name="tone.wav")
    assert file.mime_type.startswith("audio/")
    assert broker_queue.args(MEDIA_ANALYSE_TASK) == [[str(file.uuid)]]
    assert analysis.media_analyse(file_uuid=file.uuid) is True
    file.refresh_from_db()
    assert file.media_info["video"]["audio"][0]["sample_rate"] == 44100  # content_info.video, as for a video


def test_recording_an_analysis_writes_only_its_own_live_file(project, mp4_bytes):
    file, other, removed = upload(project, mp4_bytes), upload(project, mp4_bytes), upload(project, mp4_bytes)
    services.file_delete(file=removed)
    assert services.file_media_info_set(file=file, media_info={"video": {"duration": 1}}) is True
    assert services.file_media_info_set(file=removed, media_info={"video": {"duration": 1}}) is False
    assert File.objects.get(pk=other.pk).media_info is None
    assert File.objects.get(pk=removed.pk).media_info is None
    assert not Event.objects.filter(file_uuid=removed.uuid, type="file.info_updated").exists()
