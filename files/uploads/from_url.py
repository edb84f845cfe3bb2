"""Upload from a URL: the request is recorded, a worker fetches it, the client polls the status."""

import logging
import tempfile
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import httpx
from django.conf import settings
from django.core.files import File as DjangoFile
from django.db.models import Q
from django.utils import timezone

from billing.quotas import QuotaExceeded, check_upload, plan_max_file_size
from core.fetch import FetchRefused, check_url, guarded_stream
from core.jobs import claim, send, send_on_commit
from core.numbers import bounded_int
from files import errors
from files.initiators import api_initiator
from files.models import File, FromUrlTask
from files.services import check_size, file_upload, max_file_size, resolve_store

log = logging.getLogger(__name__)
PROGRESS_EVERY = 1024 * 1024
FETCH_TIME_LIMIT = 900  # the fetch task's hard time limit, in seconds
FETCH_TASK = "files.tasks.fetch_from_url"
REQUEUE_TASK = "files.tasks.requeue_from_url"


def from_url_create(
    *,
    project,
    source_url: str,
    store,
    filename: str = "",
    metadata: dict | None = None,
    check_duplicates: bool = False,
    save_duplicates: bool = False,
) -> FromUrlTask | File:
    """Records the request and queues the fetch; returns a known file instead for a duplicate URL."""
    if not source_url:
        raise errors.UploadError("SourceURLRequiredError", 400, "source_url is required.")
    for name, value in (("source_url", source_url), ("filename", filename)):
        if "\x00" in value:  # PostgreSQL text cannot hold it
            raise errors.param_invalid(name)
    resolve_store(project, store)  # refuse a bad value now, not in the worker
    try:
        check_url(source_url)
    except FetchRefused as exc:
        raise errors.UploadError(exc.code, 400, exc.message) from None
    if check_duplicates:
        earlier = (
            FromUrlTask.objects.filter(
                project=project,
                source_url=source_url,
                status=FromUrlTask.Status.SUCCESS,
                file__datetime_removed__isnull=True,
            )
            .select_related("file")
            .order_by("-created_at")
            .first()
        )
        if earlier and earlier.file:
            return earlier.file
    task = FromUrlTask.objects.create(
        project=project,
        source_url=source_url,
        filename=filename,
        store=str(store or "auto"),
        metadata=metadata or {},
        save_duplicates=save_duplicates,
    )
    # If the broker is away, the sweep (from_url_requeue) queues it later.
    send_on_commit(FETCH_TASK, str(task.token))
    return task


def from_url_requeue(*, limit: int = 100) -> int:
    """Queues fetches whose message was lost (broker away at commit) or whose worker died."""
    now = timezone.now()
    lost = FromUrlTask.objects.filter(
        Q(status=FromUrlTask.Status.WAITING, created_at__lt=now - timedelta(seconds=30))
        | Q(status=FromUrlTask.Status.PROGRESS, claimed_at__lt=now - timedelta(seconds=FETCH_TIME_LIMIT + 60))
    ).values_list("token", flat=True)[:limit]
    tokens = [str(token) for token in lost]
    for token in tokens:
        send(FETCH_TASK, token)
    return len(tokens)


def from_url_fetch(*, token) -> None:
    """Fetches the URL into storage. Claims the task first, so a second run does nothing; a task
    whose worker died mid-fetch is claimable again once the fetch's time limit has passed."""
    stale = timezone.now() - timedelta(seconds=FETCH_TIME_LIMIT + 60)
    claimed = claim(
        FromUrlTask.objects.filter(
            Q(status=FromUrlTask.Status.WAITING) | Q(status=FromUrlTask.Status.PROGRESS, claimed_at__lt=stale),
            token=token,
        ),
        status=FromUrlTask.Status.PROGRESS,
        claimed_at=timezone.now(),
    )
    if not claimed:
        return
    task = FromUrlTask.objects.select_related("project").get(token=token)
    try:
        file = _download_and_store(task)
    except errors.UploadError as exc:
        _fail(task, exc.code, exc.message)
    except QuotaExceeded as exc:
        refused = errors.account_limits_exceeded(exc.message)
        _fail(task, refused.code, refused.message)
    except FetchRefused as exc:
        _fail(task, exc.code, exc.message)
    except httpx.TimeoutException:
        _fail(task, "DownloadFileTimeLimitExceededError", "Download took too long.")
    except httpx.HTTPError as exc:
        _fail(task, "DownloadFileNetworkError", f"Failed to download the file: {exc.__class__.__name__}.")
    except Exception:
        # Anything else (storage down, a bug) must not leave the client polling "progress" forever.
        _fail(task, "DownloadFileTaskFailedError", "Failed to download the file.")
        raise
    else:
        FromUrlTask.objects.filter(pk=task.pk).update(
            status=FromUrlTask.Status.SUCCESS, file=file, done=file.size, total=file.size
        )


def _download_and_store(task: FromUrlTask) -> File:
    """Streams the URL into a spool and stores it. A file over the server's, the project's or the
    plan's size limit stops the download as soon as its length or its bytes tell."""
    limit = max_file_size(task.project)
    plan_limit = plan_max_file_size(task.project)
    with guarded_stream(task.source_url, timeout=settings.FILEDOCK_FROM_URL_TIMEOUT) as response:
        if response.status_code >= 400:
            code = "DownloadFileNotFoundError" if response.status_code == 404 else "DownloadFileHTTPClientError"
            raise errors.UploadError(code, 400, f"Failed to download the file: HTTP {response.status_code}.")
        total = bounded_int(response.headers.get("content-length") or "") or None
        if total and total > limit:
            raise errors.UploadError(
                "DownloadFileSizeLimitExceededError", 400, f"Downloaded file is too big: {total} > {limit}."
            )
        if total and plan_limit is not None and total > plan_limit:
            check_upload(project=task.project, size=total)  # raises QuotaExceeded
        FromUrlTask.objects.filter(pk=task.pk).update(total=total)
        with tempfile.TemporaryFile() as spool:
            done = reported = 0
            for chunk in response.iter_bytes(256 * 1024):
                done += len(chunk)
                if done > limit:
                    raise errors.UploadError(
                        "DownloadFileSizeLimitExceededError", 400, f"Downloaded file is too big: > {limit}."
                    )
                if plan_limit is not None and done > plan_limit:
                    check_upload(project=task.project, size=done)  # raises QuotaExceeded
                spool.write(chunk)
                if done - reported >= PROGRESS_EVERY:
                    FromUrlTask.objects.filter(pk=task.pk).update(done=done)
                    reported = done
            spool.seek(0)
            content = DjangoFile(spool, name="download")
            check_size(task.project, content.size)
            return file_upload(
                project=task.project,
                content=content,
                filename=task.filename or _name_from_url(task.source_url),
                store=resolve_store(task.project, task.store),
                metadata=task.metadata,
                source="from_url",
                # The request that asked for the upload is the one the client holds a token of.
                initiator=api_initiator("from_url", request_id=task.token),
            )


def _name_from_url(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "file"


def _fail(task: FromUrlTask, code: str, message: str) -> None:
    log.info("upload from URL %s failed: %s", task.token, code)
    FromUrlTask.objects.filter(pk=task.pk).update(status=FromUrlTask.Status.ERROR, error=message, error_code=code)
