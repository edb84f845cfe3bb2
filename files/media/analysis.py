"""Background analysis of video and audio files: ffprobe's reading, stored as File.media_info.

Sent by name after the upload commits (files.services.file_upload); `media_sweep` sends the
files whose message was lost. Where ffprobe is missing the analysis says so in the log and the
info stays null (unanalysed), so a later run with ffprobe installed fills it in.
"""

import logging
import shutil
import tempfile
from datetime import timedelta

from django.utils import timezone

from core.jobs import send_batches
from files.media.probe import ProbeFailed, ProbeUnavailable, available, probe, video_info
from files.models import File
from files.services import MEDIA_ANALYSE_TASK, file_media_info_set, is_media
from files.storage.backends import storage_for

log = logging.getLogger(__name__)

# A file newer than this is left to the message its upload sent.
SWEEP_GRACE = timedelta(minutes=2)


def media_analyse(*, file_uuid) -> bool:
    """Reads the file with ffprobe and records what it found (file.info_updated when that adds
    to its info). Harmless to repeat: an analysed, removed or non-media file is left alone.
    Returns whether the info was written."""
    file = File.objects.filter(pk=file_uuid).select_related("storage_target").first()
    if file is None or file.is_removed or file.media_info is not None or not is_media(file.mime_type):
        return False
    try:
        report = _probe_stored(file)
    except ProbeUnavailable:
        log.warning("ffprobe is not installed: %s keeps no video/audio info until it is", file.uuid)
        return False
    except FileNotFoundError:  # the bytes went with a delete racing this job
        return False
    except ProbeFailed as exc:
        log.info("ffprobe could not read %s: %s", file.uuid, exc)
        report = {}
    info = video_info(report, file.mime_type)
    # {} marks "analysed, nothing to show", so the sweep does not send the file again.
    return file_media_info_set(file=file, media_info={"video": info} if info else {})


def _probe_stored(file: File) -> dict:
    """ffprobe needs a seekable local file (an MP4's index may sit at its end): the stored bytes
    are copied to a temporary file first, whatever the storage."""
    with storage_for(file).open(file.storage_key, "rb") as stored, tempfile.NamedTemporaryFile() as local:
        shutil.copyfileobj(stored, local, 1024 * 1024)
        local.flush()
        return probe(local.name)


def media_sweep(*, limit: int = 200) -> int:
    """Sends the media files never analysed (a lost message, or ffprobe installed since); returns
    how many. Harmless to re-run: the analysis skips what is done."""
    if not available():
        log.warning("ffprobe is not installed: video and audio files are not analysed")
        return 0
    pending = (
        File.objects.filter(
            media_info__isnull=True,
            datetime_removed__isnull=True,
            datetime_uploaded__lt=timezone.now() - SWEEP_GRACE,
        )
        .filter(mime_type__regex=r"^(video|audio)/")
        .order_by("datetime_uploaded")
        .values_list("uuid", flat=True)[:limit]
    )
    return len(send_batches(MEDIA_ANALYSE_TASK, [str(file_uuid) for file_uuid in pending]))
