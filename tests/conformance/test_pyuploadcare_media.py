"""Video and audio analysis, seen through pyuploadcare 6.3, unmodified, with a real Celery worker."""

import subprocess

import pytest

from files.models import Event, File
from tests.helpers import wait_until


def ffmpeg(path, *arguments: str) -> bytes:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", *arguments, "-y", str(path)], check=True)
    return path.read_bytes()


@pytest.fixture
def mp4(tmp_path):
    """One second of 64×48 H.264 at 10 frames a second with an AAC tone."""
    video = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-f", "lavfi", "-i", "sine=frequency=440"]
    codecs = ["-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]
    return ffmpeg(tmp_path / "clip.mp4", *video, *codecs)


@pytest.fixture
def mp3(tmp_path):
    """One second of a 440 Hz tone at 64 kbit/s, 44.1 kHz."""
    audio = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "1"]
    return ffmpeg(tmp_path / "tone.mp3", *audio, "-c:a", "libmp3lame", "-b:a", "64k")


def upload_and_wait(uploadcare, tmp_path, name: str, data: bytes):
    path = tmp_path / f"upload-{name}"
    path.write_bytes(data)
    with open(path, "rb") as f:
        uploaded = uploadcare.upload(f, store=True)
    assert wait_until(lambda: File.objects.get(uuid=uploaded.uuid).media_info is not None, timeout=30)
    return uploadcare.file(str(uploaded.uuid))


def test_an_mp4_gets_content_info_video_in_rest_file_info(uploadcare, celery_worker, tmp_path, mp4):
    file = upload_and_wait(uploadcare, tmp_path, "clip.mp4", mp4)
    info = file.info["content_info"]  # parsed by pyuploadcare's ContentInfo / VideoInfo
    assert info["mime"]["mime"] == "video/mp4"
    video = info["video"]
    assert video["format"] == "mp4" and 900 <= video["duration"] <= 1100 and video["bitrate"] > 0
    assert [(s["width"], s["height"], s["frame_rate"], s["codec"]) for s in video["video"]] == [(64, 48, 10.0, "h264")]
    assert [(s["codec"], s["sample_rate"]) for s in video["audio"]] == [("aac", 44100)]
    events = list(Event.objects.filter(file_uuid=file.uuid).order_by("id").values_list("type", flat=True))
    assert events == ["file.uploaded", "file.stored", "file.info_updated"]
    updated = Event.objects.get(file_uuid=file.uuid, type="file.info_updated")
    assert updated.initiator == {
        "type": "system",
        "detail": {"request_id": None, "addon_name": None, "reason": "media_analysis"},
    }
    assert updated.payload["content_info"]["video"]["video"][0]["codec"] == "h264"


def test_an_mp3_gets_its_audio_stream_in_rest_file_info(uploadcare, celery_worker, tmp_path, mp3):
    file = upload_and_wait(uploadcare, tmp_path, "tone.mp3", mp3)
    video = file.info["content_info"]["video"]
    assert video["format"] == "mp3" and 1000 <= video["duration"] <= 1100
    assert video["video"] == []  # an audio file: Uploadcare's video info with no video stream
    (audio,) = video["audio"]
    assert (audio["codec"], audio["sample_rate"], audio["channels"], audio["bitrate"]) == ("mp3", 44100, 1, 64)
