"""GIF to video: `{uuid}/gif2video/[-/format/mp4|webm/][-/quality/…/]`, Uploadcare's gif2video.

An animated GIF becomes a much smaller video (H.264 in MP4 by default, or VP9 in WebM), made by
Debian's ffmpeg once and kept like an image rendering (files.cdn.images.kept). It takes one of the
process's render turns, runs on one thread, and is stopped after FILEDOCK_CDN_VIDEO_SECONDS.
"""

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

from files.cdn import images
from files.models import File
from files.storage.backends import storage_for

FORMATS = ("mp4", "webm")
# Constant rate factor per quality preset: (H.264, VP9); lower is better and larger.
CRF = {"lightest": (34, 45), "lighter": (30, 40), "normal": (26, 35), "better": (23, 31), "best": (20, 27)}
MAX_OUTPUT_BYTES = 100 * 1024 * 1024


class Unavailable(Exception):
    """ffmpeg is not installed on this server, or did not finish in time."""


def parse(ops: str) -> tuple[str, str]:
    """`-/format/mp4|webm/` and `-/quality/{preset}/`, each optional, nothing else."""
    tokens = [token for token in ops.split("/") if token]
    fmt, quality = "mp4", "normal"
    while tokens:
        if len(tokens) < 3 or tokens[0] != "-":
            raise ValueError(f"gif2video: expected -/format/mp4|webm/ or -/quality/{{preset}}/, not {ops!r}.")
        name, value = tokens[1], tokens[2]
        if name == "format" and value in FORMATS:
            fmt = value
        elif name == "quality" and value in CRF:
            quality = value
        else:
            choices = "format (mp4, webm) and quality (" + ", ".join(CRF) + ")"
            raise ValueError(f"gif2video: -/{name}/{value}/ is not an option; it takes {choices}.")
        tokens = tokens[3:]
    return fmt, quality


def output_of(fmt: str, quality: str) -> images.Output:
    return images.Output(kind=fmt, tag="gif2video-" + hashlib.sha1(f"{fmt}|{quality}".encode()).hexdigest()[:12])


def video_get_or_create(file: File, fmt: str, quality: str, admit=None) -> str:
    """The storage key of the file as a video; made on first use."""

    def make() -> bytes:
        opened = storage_for(file).open(file.storage_key, "rb")
        with opened as original, images.turn(), images.readable_copy(original) as readable:
            return convert(readable, fmt, quality)

    return images.kept(images.rendering_key(file, output_of(fmt, quality)), make, file, admit)


def convert(source: str | bytes, fmt: str, quality: str) -> bytes:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise Unavailable("gif2video needs ffmpeg, which is not installed on this server.")
    h264, vp9 = CRF[quality]
    codec = (
        ["-c:v", "libx264", "-crf", str(h264), "-preset", "veryfast", "-movflags", "+faststart"]
        if fmt == "mp4"
        else ["-c:v", "libvpx-vp9", "-crf", str(vp9), "-b:v", "0", "-deadline", "realtime", "-cpu-used", "8"]
    )
    with tempfile.TemporaryDirectory(prefix="filedock-gif2video-") as folder:
        given = Path(folder) / "in.gif"
        if isinstance(source, bytes):
            given.write_bytes(source)
        else:
            given = Path(source)
        target = Path(folder) / f"out.{fmt}"
        command = [
            ffmpeg, "-nostdin", "-loglevel", "error", "-threads", "1", "-i", str(given),
            "-an", "-pix_fmt", "yuv420p", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2",
            *codec, "-fs", str(MAX_OUTPUT_BYTES), str(target),
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, timeout=settings.FILEDOCK_CDN_VIDEO_SECONDS)
        except subprocess.TimeoutExpired:
            raise Unavailable("gif2video took too long for this GIF.") from None
        if done.returncode != 0 or not target.exists():
            raise images.UndecodableImage(done.stderr.decode(errors="replace")[-300:] or "ffmpeg failed")
        return target.read_bytes()
