"""Document and video conversions (REST `convert/document/`, `convert/video/`, and the files
browser's "Convert…"): a Conversion row is the job, run by a worker with the job machinery of
core.jobs (claimed with a lease, put back with a growing delay while storage or a tool is away,
re-sent by `conversion_sweep` when its message or worker went missing).

The result is a new file of the project, written by the upload service under the UUID given out
when the job was made (so it counts against the plan, and file.uploaded goes out for it); video
thumbnails, and with save_in_group a document's pages, are files too, in a group. Their UUIDs are
derived from the result's, so a retried job finds what an earlier attempt wrote and goes on.
"""

import logging
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File as DjangoFile
from django.db import transaction
from django.utils import timezone

from billing.metering import usage_add
from billing.quotas import QuotaExceeded
from core.jobs import JobRows, retry_delay, send_on_commit
from files import errors
from files.conversions import documents, video
from files.conversions.paths import PathProblem, parse
from files.conversions.tools import ConversionFailed, ToolMissing
from files.info import iso
from files.initiators import api_initiator
from files.models import Conversion, File, Group
from files.services import file_upload, resolve_store
from files.storage.backends import open_stream
from files.uploads.groups import group_create

log = logging.getLogger(__name__)
RUN_TASK = "files.tasks.run_conversion"
Status = Conversion.Status
Kind = Conversion.Kind
CHUNK = 1024 * 1024


def _lease() -> timedelta:
    return timedelta(seconds=settings.FILEDOCK_CONVERSION_LEASE)


JOBS = JobRows(
    RUN_TASK,
    Conversion,
    Status.PENDING,
    Status.PROCESSING,
    lease=_lease,
    grace=timedelta(seconds=60),
)
# One conversion at a time in a worker process, whatever its pool: soffice and ffmpeg take the
# machine's cores and memory by themselves.
_one_at_a_time = threading.Lock()


class ConversionsUnavailable(Exception):
    """Nothing of the kind can be converted on this server; the message says what to install."""


@dataclass
class Created:
    conversions: list[Conversion]
    problems: dict[str, str]


def tools_missing(kind: str, file: File | None = None) -> str:
    """Why this server cannot convert `kind` (or this file) at all, naming what to install; ""
    when it can. A PDF needs poppler only; other documents LibreOffice too."""
    if kind == Kind.VIDEO:
        return video.missing()
    fmt = documents.source_format(file.original_filename, file.mime_type) if file else "docx"
    return documents.missing(fmt, "png" if fmt == "pdf" else "pdf")


def conversions_create(
    *, project, kind: str, paths, store=None, save_in_group=False, initiator: dict | None = None
) -> Created:
    """Makes a job for each path that can be converted and queues it after the commit; every
    other path gets the reason in `problems`. Writes Conversion rows; emits nothing yet."""
    if not isinstance(paths, list) or not paths or not all(isinstance(path, str) for path in paths):
        raise PathProblem("paths is a list of conversion paths, like {uuid}/" + kind + "/-/format/…/.")
    try:
        store_value = None if store in (None, "", "auto") else resolve_store(project, str(store))
    except errors.UploadError:
        raise PathProblem('store is "true", "false" or absent (the project\'s default).') from None
    group = str(save_in_group).lower() in ("1", "true") and kind == Kind.DOCUMENT
    initiator = initiator or api_initiator("rest_api")
    problems, wanted = {}, []
    for path in dict.fromkeys(paths):
        try:
            parsed = parse(path, kind)
            source = File.objects.filter(project=project, uuid=parsed.source_uuid).first()
            _check(source, kind, parsed.params)
        except PathProblem as exc:
            problems[path] = str(exc)
            continue
        wanted.append((path, source, parsed.params))
    with transaction.atomic():
        made = []
        for path, source, params in wanted:
            conversion = Conversion.objects.create(
                project=project,
                source=source,
                kind=kind,
                path=path,
                params={**params, "initiator": initiator},
                store=store_value,
                save_in_group=group,
                thumbnails_group_id=f"{uuid.uuid4()}~{params['thumbs']}" if kind == Kind.VIDEO else "",
            )
            send_on_commit(RUN_TASK, str(conversion.pk))
            made.append(conversion)
    return Created(made, problems)


def _check(source: File | None, kind: str, params: dict) -> None:
    if source is None:
        raise PathProblem("File not found in the project.")
    if source.is_removed:
        raise PathProblem("File is removed.")
    if kind == Kind.VIDEO:
        if not source.mime_type.startswith("video/"):
            raise PathProblem(f"Not a video: the file is {source.mime_type}.")
        if missing := video.missing():
            raise PathProblem(missing)
        return
    fmt = documents.source_format(source.original_filename, source.mime_type)
    if params["format"] not in documents.targets(fmt):
        if fmt is None:
            raise PathProblem(f"Not a document this server converts: the file is {source.mime_type}.")
        raise PathProblem(f"A {fmt} document does not convert to {params['format']}.")
    if missing := documents.missing(fmt, params["format"]):
        raise PathProblem(missing)


def conversion_status(conversion: Conversion) -> dict:
    """Uploadcare's status answer for a job."""
    result = {"uuid": str(conversion.result_uuid)}
    if conversion.kind == Kind.VIDEO:
        result["thumbnails_group_uuid"] = conversion.thumbnails_group_id
    return {"status": conversion.status, "error": conversion.error or None, "result": result}


def created_shape(conversion: Conversion) -> dict:
    """One entry of the create answer's `result`."""
    shape = {"original_source": conversion.path, "token": conversion.pk, "uuid": str(conversion.result_uuid)}
    if conversion.kind == Kind.VIDEO:
        shape["thumbnails_group_uuid"] = conversion.thumbnails_group_id
    return shape


def document_info(file: File) -> dict:
    """What `GET convert/document/{uuid}/` answers: the file's format, what it converts to, and
    the groups its conversions with save_in_group made. pyuploadcare reads converted_groups inside
    `format`, rest-client's types at the top: both are there."""
    fmt = documents.source_format(file.original_filename, file.mime_type)
    groups = {
        conversion.params.get("format"): conversion.thumbnails_group_id
        for conversion in file.conversions.filter(
            kind=Kind.DOCUMENT, status=Status.FINISHED, save_in_group=True
        ).order_by("created_at")
        if conversion.thumbnails_group_id
    }
    error = None
    if fmt is None:
        error = f"Not a document this server converts: the file is {file.mime_type}."
    elif missing := documents.missing(fmt, "pdf"):
        error = missing
    return {
        "error": error,
        "format": {
            "name": fmt or file.mime_type.split("/")[-1],
            "conversion_formats": [{"name": name} for name in documents.targets(fmt)],
            "converted_groups": groups,
        },
        "converted_groups": groups,
    }


def pending_result_info(*, project, file_id, url: str) -> dict | None:
    """Uploadcare answers for a conversion's result UUID before the file exists: an empty file
    info, not ready (so pyuploadcare's File(uuid).info right after convert works). None for any
    other id."""
    try:
        result_uuid = uuid.UUID(str(file_id))
    except ValueError:
        return None
    conversion = Conversion.objects.filter(
        project=project, result_uuid=result_uuid, status__in=[Status.PENDING, Status.PROCESSING]
    ).first()
    if conversion is None:
        return None
    created = iso(conversion.created_at)
    stored = conversion.store if conversion.store is not None else project.autostore_enabled
    return {
        "datetime_removed": None,
        "datetime_stored": created if stored else None,
        "datetime_uploaded": created,
        "is_image": None,
        "is_ready": False,
        "mime_type": "",
        "original_file_url": None,
        "original_filename": "",
        "size": 0,
        "url": url,
        "uuid": str(result_uuid),
        "variations": None,
        "content_info": None,
        "metadata": {},
    }


def conversion_run(*, token) -> str:
    """Runs one due conversion; returns its status after. A second message for the same job finds
    it claimed or finished and returns."""
    if not JOBS.take(token):
        return "not-due"
    conversion = Conversion.objects.select_related("source", "project").get(pk=token)
    if conversion.source.is_removed:
        return _finish(conversion, Status.FAILED, "The source file was deleted before the conversion ran.")
    if File.objects.filter(pk=conversion.result_uuid).exists():
        return _finish(conversion, Status.FINISHED)  # an earlier attempt wrote it and died before this
    try:
        with _one_at_a_time, tempfile.TemporaryDirectory(prefix=f"filedock-convert-{token}-") as scratch:
            _convert(conversion, Path(scratch))
    except (ConversionFailed, TimeoutError, QuotaExceeded, errors.UploadError) as exc:
        return _finish(conversion, Status.FAILED, _message(exc))
    except ToolMissing as exc:
        return _later(conversion, str(exc))
    except FileNotFoundError:
        return _finish(conversion, Status.FAILED, "The source file's bytes are gone from storage.")
    except OSError as exc:  # storage away, a full scratch disk: worth another try
        return _later(conversion, f"{type(exc).__name__}: {exc}")
    return _finish(conversion, Status.FINISHED)


def conversion_sweep(*, limit: int = 200) -> int:
    """Beat: re-sends due jobs whose message was lost or whose worker died (lease over)."""
    return JOBS.sweep(limit=limit)


def _convert(conversion: Conversion, scratch: Path) -> None:
    source = conversion.source
    suffix = Path(source.original_filename).suffix.lower()[:16]
    local = scratch / f"source{suffix}"
    with open_stream(source) as stream, open(local, "wb") as out:
        shutil.copyfileobj(stream, out, CHUNK)  # chunk by chunk: memory stays bounded
    deadline = time.monotonic() + settings.FILEDOCK_CONVERSION_TIME_LIMIT
    params = conversion.params
    stem = Path(source.original_filename).stem or "file"
    if conversion.kind == Kind.VIDEO:
        output, thumbs = video.convert(local, params, scratch, deadline)
        names = [f"{stem}-thumb-{index + 1}.jpg" for index in range(len(thumbs))]
        _group(conversion, thumbs, names, conversion.thumbnails_group_id, "thumb")
        _upload(conversion, output, f"{stem}.{params['format']}", conversion.result_uuid)
        return
    fmt = documents.source_format(source.original_filename, source.mime_type)
    target = params["format"]
    (scratch / "out").mkdir()
    output = documents.convert(local, fmt, target, params.get("page"), scratch / "out", deadline)
    extension = output.suffix.lstrip(".")
    if conversion.save_in_group and target in documents.IMAGES and params.get("page") is None:
        pages = sorted(output.parent.glob("page-*"), key=lambda path: int(path.stem.split("-")[1]))
        if pages:
            group_id = f"{uuid.uuid5(conversion.result_uuid, 'pages')}~{len(pages)}"
            names = [f"{stem}-page-{index + 1}{path.suffix}" for index, path in enumerate(pages)]
            _group(conversion, pages, names, group_id, "page")
            Conversion.objects.filter(pk=conversion.pk).update(thumbnails_group_id=group_id)
    _upload(conversion, output, f"{stem}.{extension}", conversion.result_uuid)


def _group(conversion: Conversion, paths: list[Path], names: list[str], group_id: str, kind: str) -> None:
    """Uploads each of `paths` (unless an earlier attempt did) and makes their group."""
    uuids = [uuid.uuid5(conversion.result_uuid, f"{kind}-{index}") for index in range(len(paths))]
    done = set(File.objects.filter(pk__in=uuids).values_list("pk", flat=True))
    for path, name, file_uuid in zip(paths, names, uuids, strict=True):
        if file_uuid not in done:
            _upload(conversion, path, name, file_uuid)
    if not Group.objects.filter(pk=group_id).exists():
        group_create(project=conversion.project, refs=[str(file_uuid) for file_uuid in uuids], group_id=group_id)


def _upload(conversion: Conversion, path: Path, name: str, file_uuid) -> File:
    store = conversion.store if conversion.store is not None else conversion.project.autostore_enabled
    initiator = conversion.params.get("initiator") or api_initiator("rest_api")
    detail = {**initiator.get("detail", {}), "source_file_uuid": str(conversion.source_id)}
    # The type is known from what was made (content sniffing calls a zip of pages a docx, and an
    # Ogg video application/ogg); images are described from their pixels as any upload is.
    extension = path.suffix.lower().lstrip(".")
    mime_type = {**documents.MIME_TYPES, **video.MIME_TYPES}.get(extension)
    described = (mime_type, None) if mime_type and not mime_type.startswith("image/") else None
    with open(path, "rb") as handle:
        return file_upload(
            project=conversion.project,
            content=DjangoFile(handle, name=name),
            filename=name,
            store=store,
            source="conversion",
            file_uuid=file_uuid,
            described=described,
            initiator={**initiator, "detail": detail},
        )


def _finish(conversion: Conversion, status: str, error: str = "") -> str:
    finished = JOBS.finish(conversion.pk, status, error=error[:500], finished_at=timezone.now())
    if finished and status == Status.FINISHED:
        usage_add(project_id=conversion.project_id, conversions=1)
    return str(status)


def _later(conversion: Conversion, reason: str) -> str:
    """Storage or a tool is away: the job waits and is tried again, up to the attempts allowed."""
    if conversion.attempts >= settings.FILEDOCK_CONVERSION_MAX_ATTEMPTS:
        return _finish(conversion, Status.FAILED, reason)
    delay = retry_delay(
        conversion.attempts,
        base=settings.FILEDOCK_CONVERSION_RETRY_BASE,
        cap=settings.FILEDOCK_CONVERSION_RETRY_MAX,
        jitter=True,
    )
    log.warning("conversion %s waits %.0f s: %s", conversion.pk, delay, reason)
    JOBS.later(conversion.pk, delay, error=reason[:500])
    return str(Status.PENDING)


def _message(exc: Exception) -> str:
    if isinstance(exc, errors.UploadError | QuotaExceeded):
        return f"The result could not be saved: {exc}"
    if isinstance(exc, TimeoutError):
        return f"{exc} ({settings.FILEDOCK_CONVERSION_TIME_LIMIT} s)"
    return str(exc)


def conversions_of(file: File, limit: int = 20) -> list[Conversion]:
    """A file's latest conversions, newest first (the files browser's detail page)."""
    return list(file.conversions.order_by("-created_at")[:limit])
