"""Videos converted by ffmpeg: format, size, quality and cut as Uploadcare's paths ask, and the
thumbnails (JPEG frames evenly spread over the result).

ffmpeg reads a local file and writes one: the input is copied from storage in chunks first and
the output is streamed to storage after, so memory stays bounded whatever the video's size.
"""

import json
import shutil
from pathlib import Path

from files.conversions.tools import ConversionFailed, ToolMissing, run

# (video codec options by quality, audio options) per format. Lower CRF, better picture.
CODECS = {
    "mp4": (
        ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
        "-crf",
        {"best": 18, "better": 21, "normal": 23, "lighter": 27, "lightest": 31},
        ["-c:a", "aac", "-b:a", "128k"],
    ),
    "webm": (
        ["-c:v", "libvpx-vp9", "-b:v", "0", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"],
        "-crf",
        {"best": 24, "better": 28, "normal": 32, "lighter": 37, "lightest": 42},
        ["-c:a", "libopus", "-b:a", "96k"],
    ),
    "ogg": (
        ["-c:v", "libtheora"],
        "-q:v",
        {"best": 9, "better": 8, "normal": 7, "lighter": 5, "lightest": 3},
        ["-c:a", "libvorbis", "-q:a", "4"],
    ),
}
MIME_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "ogg": "video/ogg"}
INSTALL = "Video conversion needs ffmpeg on the server (apt-get install ffmpeg)."


def missing() -> str:
    """What must be installed for video conversion; "" when ffmpeg and ffprobe are there."""
    return "" if shutil.which("ffmpeg") and shutil.which("ffprobe") else INSTALL


def duration(source: Path, deadline: float) -> float:
    """The video's length in seconds; ConversionFailed when it has no video stream."""
    out = run(
        [
            "ffprobe", "-v", "error", "-protocol_whitelist", "file", "-print_format", "json",
            "-show_entries", "format=duration:stream=codec_type", str(source),
        ],
        deadline,
        what="ffprobe",
    )  # fmt: skip
    report = json.loads(out or "{}")
    if not any(stream.get("codec_type") == "video" for stream in report.get("streams", [])):
        raise ConversionFailed("The file has no video stream that ffmpeg can read.")
    try:
        return float(report["format"]["duration"])
    except (KeyError, ValueError):
        raise ConversionFailed("ffmpeg cannot tell how long this video is.") from None


def convert(source: Path, params: dict, work: Path, deadline: float) -> tuple[Path, list[Path]]:
    """Encodes `source` as `params` ask (format, quality, size, cut) and takes params["thumbs"]
    thumbnails of the result; returns (the video, the thumbnails). Raises ConversionFailed,
    ToolMissing, TimeoutError."""
    if missing():
        raise ToolMissing(INSTALL)
    length = duration(source, deadline)
    start, span = 0.0, length
    if cut := params.get("cut"):
        start = cut["start"]
        if start >= length:
            raise ConversionFailed(f"The cut starts at {start:g} s; the video is {length:g} s long.")
        span = length - start if cut["length"] is None else min(cut["length"], length - start)
    video_options, quality_flag, qualities, audio_options = CODECS[params["format"]]
    output = work / f"video.{params['format']}"
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-protocol_whitelist", "file"]
    if start:
        command += ["-ss", f"{start:.3f}"]
    command += ["-i", str(source), "-t", f"{span:.3f}", "-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn"]
    if size := params.get("size"):
        command += ["-vf", scale_filter(size)]
    command += [*video_options, quality_flag, str(qualities[params["quality"]]), *audio_options, str(output)]
    run(command, deadline, what="ffmpeg")
    return output, thumbnails(output, span, params.get("thumbs", 1), work, deadline)


def thumbnails(video: Path, span: float, count: int, work: Path, deadline: float) -> list[Path]:
    """`count` JPEG frames of `video`, at the middles of `count` equal parts of its length."""
    paths = []
    for index in range(count):
        at = span * (index + 0.5) / count
        path = work / f"thumb-{index + 1}.jpg"
        command = [
            "ffmpeg", "-nostdin", "-v", "error", "-y", "-protocol_whitelist", "file",
            "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1", "-q:v", "3", str(path),
        ]  # fmt: skip
        run(command, deadline, what="ffmpeg")
        if not path.exists():  # past the last frame (a rounding at the very end): take the first
            run([*command[:7], "-i", str(video), *command[-5:]], deadline, what="ffmpeg")
        paths.append(path)
    return paths


def scale_filter(size: dict) -> str:
    """ffmpeg's filter for Uploadcare's resize modes; sides even, as H.264 and VP9 need."""
    width, height = (2 * round(side / 2) or 2 if side else None for side in (size["width"], size["height"]))
    mode = size["mode"]
    even = "scale=trunc(iw/2)*2:trunc(ih/2)*2"
    if width is None:
        return f"scale=-2:{height}"
    if height is None:
        return f"scale={width}:-2"
    if mode == "change_ratio":
        return f"scale={width}:{height},setsar=1"
    if mode == "scale_crop":
        return f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1"
    if mode == "add_padding":
        return (
            f"scale={width}:{height}:force_original_aspect_ratio=decrease,{even},"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1"
        )
    return f"scale={width}:{height}:force_original_aspect_ratio=decrease,{even},setsar=1"
