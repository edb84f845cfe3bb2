"""What ffprobe reads in a video or audio file, in Uploadcare's `content_info.video` shape.

Uploadcare's video info: duration in milliseconds, the container's format, the overall bitrate
in kbit/s, and a list of audio and a list of video streams (codec, bitrate; sample rate and
channels; width, height and frame rate). An audio file has the same shape with no video stream.
"""

import json
import shutil
import subprocess
from fractions import Fraction

# A probe reads headers, not the whole file; one that takes longer is stuck on a hostile input.
PROBE_TIMEOUT = 60


class ProbeUnavailable(Exception):
    """ffprobe is not installed on this machine."""


class ProbeFailed(Exception):
    """ffprobe could not read the file (not media after all, or damaged)."""


def available() -> bool:
    return shutil.which("ffprobe") is not None


def probe(path: str) -> dict:
    """ffprobe's JSON report of the local file at `path`. Only the file itself is read: playlists
    and other formats that point elsewhere are not followed."""
    command = [
        "ffprobe", "-v", "error", "-protocol_whitelist", "file",
        "-print_format", "json", "-show_format", "-show_streams", path,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, timeout=PROBE_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise ProbeUnavailable("ffprobe is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProbeFailed(f"ffprobe took over {PROBE_TIMEOUT} s") from exc
    if done.returncode != 0:
        raise ProbeFailed(done.stderr.decode(errors="replace").strip()[:300] or f"exit status {done.returncode}")
    try:
        return json.loads(done.stdout)
    except ValueError as exc:
        raise ProbeFailed("ffprobe's report is not JSON") from exc


def video_info(report: dict, mime_type: str) -> dict | None:
    """Uploadcare's video info from ffprobe's `report`; None when the file has no audio or video stream."""
    container = report.get("format") or {}
    streams = report.get("streams") or []
    audio = [
        {
            "bitrate": _kbps(stream.get("bit_rate")),
            "codec": stream.get("codec_name"),
            "sample_rate": _int(stream.get("sample_rate")),
            "channels": _int(stream.get("channels")),
        }
        for stream in streams
        if stream.get("codec_type") == "audio"
    ]
    video = [
        {
            "height": _int(stream.get("height")) or 0,
            "width": _int(stream.get("width")) or 0,
            "frame_rate": _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate")),
            "bitrate": _kbps(stream.get("bit_rate")),
            "codec": stream.get("codec_name"),
        }
        for stream in streams
        # A cover picture in an MP3 or an M4A is a "video" stream of one frame, not a video.
        if stream.get("codec_type") == "video" and not (stream.get("disposition") or {}).get("attached_pic")
    ]
    if not audio and not video:
        return None
    duration = _float(container.get("duration"))
    return {
        "duration": round(duration * 1000) if duration is not None else None,
        "format": _format(container.get("format_name") or "", mime_type),
        "bitrate": _kbps(container.get("bit_rate")),
        "audio": audio,
        "video": video,
    }


def _format(names: str, mime_type: str) -> str:
    """ffprobe names a demuxer by all the formats it reads ("mov,mp4,m4a,3gp,3g2,mj2"): the one the
    MIME type names, else the first."""
    candidates = [name for name in names.split(",") if name]
    subtype = mime_type.partition("/")[2].lower()
    for name in candidates:
        if name == subtype or (subtype == "mpeg" and name == "mp3") or (subtype == "quicktime" and name == "mov"):
            return name
    return candidates[0] if candidates else subtype


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value) -> int | None:
    number = _float(value)
    return round(number) if number is not None else None


def _kbps(value) -> int | None:
    number = _float(value)
    return round(number / 1000) if number is not None else None


def _rate(value) -> float:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return 0.0
    return round(float(rate), 3)
