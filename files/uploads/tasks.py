"""Upload API background work: fetching uploads from URLs."""

from core.jobs import job
from files.uploads.from_url import FETCH_TASK, FETCH_TIME_LIMIT, REQUEUE_TASK, from_url_fetch, from_url_requeue
from files.uploads.multipart import multipart_sweep_abandoned


@job(FETCH_TASK, time_limit=FETCH_TIME_LIMIT, soft_time_limit=FETCH_TIME_LIMIT - 50)
def fetch_from_url(token: str) -> None:
    from_url_fetch(token=token)


@job(REQUEUE_TASK)
def requeue_from_url() -> int:
    """Beat: queues fetches whose message was lost or whose worker died."""
    return from_url_requeue()


@job("files.tasks.sweep_abandoned_uploads")
def sweep_abandoned_uploads() -> int:
    """Hourly: deletes the parts and rows of multipart uploads never completed in time."""
    return multipart_sweep_abandoned()
