"""Media analysis tasks: one file by id (sent after its upload commits) and the sweep (beat)."""

from core.jobs import job
from files.media.analysis import media_analyse, media_sweep
from files.services import MEDIA_ANALYSE_TASK


@job(MEDIA_ANALYSE_TASK)
def analyse_media(file_uuid: str) -> bool:
    return media_analyse(file_uuid=file_uuid)


@job("files.tasks.sweep_media")
def sweep_media() -> int:
    return media_sweep()
