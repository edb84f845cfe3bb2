"""Conversions' background work: one job per conversion, and the sweep that re-sends lost ones."""

from django.conf import settings

from core.jobs import job
from files.conversions.jobs import RUN_TASK, conversion_run, conversion_sweep

# Celery's limits stand behind the tools' own deadline (FILEDOCK_CONVERSION_TIME_LIMIT), which
# kills the tool and fails the job cleanly first; the upload of the result comes after it.
LIMIT = settings.FILEDOCK_CONVERSION_TIME_LIMIT


@job(RUN_TASK, time_limit=LIMIT + 110, soft_time_limit=LIMIT + 90)
def run_conversion(token: str) -> str:
    """Runs one conversion if it is due; a duplicate message is a no-op."""
    return conversion_run(token=int(token))


@job("files.tasks.sweep_conversions")
def sweep_conversions() -> int:
    """Every 30 s: re-sends conversions whose message was lost or whose worker died."""
    return conversion_sweep()
