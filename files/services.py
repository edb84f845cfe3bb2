"""Every change to a file goes through here: upload, store, delete, metadata, sweeps (expiry: files.storage.expiry)."""

import logging
import re
import tempfile
import uuid as uuid_lib
from contextlib import nullcontext
from fnmatch import fnmatch

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.base import File as DjangoFile
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from billing.metering import uploads_add
from billing.quotas import check_upload, plan_max_file_size
from core import rawsql
from core.jobs import send_on_commit
from files import errors
from files.cdn import images
from files.content import SNIFF_BYTES, clean_filename, image_info, sniff_mime
from files.exif import STRIPPABLE, strip_metadata
from files.info import REST_INFO_COLUMNS, rest_file_info, rest_infos_of_rows
from files.initiators import UNKNOWN, derived, system_initiator
from files.models import Event, File, FileTag
from files.outbox.relay import PREVIOUS_VALUES, wake_relay_on_commit
from files.storage.backends import delete_bytes, storage_for, upload_storage
from files.svg import SVG_VALIDATE_MAX_BYTES, UnsafeSvg, check_svg, is_svg_candidate

log = logging.getLogger(__name__)

METADATA_KEY = re.compile(r"\A[A-Za-z0-9_\-.:]{1,64}\Z")
METADATA_VALUE_MAX = 512
METADATA_KEYS_MAX = 50
# Uploadcare copies a file through image operations only up to this size.
COPY_WITH_EFFECTS_MAX_SIZE = 100 * 1024**2
# Video and audio files are read by ffprobe in the background (files.media), sent by this name.
MEDIA_ANALYSE_TASK = "files.tasks.analyse_media"
# Originals are stripped of metadata in memory; a larger image is kept as uploaded (and logged).
STRIP_EXIF_MAX_SIZE = 200 * 1024**2


def storage_key(project_id, file_uuid) -> str:
    return f"files/{project_id}/{file_uuid}"


def project_file_totals(*, project) -> dict:
    """Counts and bytes of a project's files that are not removed."""
    totals = File.objects.filter(project=project).present().aggregate(count=Count("uuid"), size=Sum("size"))
    return {"count": totals["count"], "size": totals["size"] or 0}


def resolve_store(project, value) -> bool:
    """UPLOADCARE_STORE / store: 1 stores, 0 leaves temporary, auto (or nothing) follows the project."""
    value = "auto" if value is None else str(value).strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    if value in ("auto", ""):
        return project.autostore_enabled
    raise errors.store_invalid()


def max_file_size(project) -> int:
    return min(project.max_file_size or settings.FILEDOCK_MAX_FILE_SIZE, settings.FILEDOCK_MAX_FILE_SIZE)


def upload_limit(project) -> tuple[int, str]:
    """The largest file `project` takes and whose limit that is: the server's, the project's
    setting or the owner's plan, whichever is smallest (the dashboard shows it)."""
    limits = [(settings.FILEDOCK_MAX_FILE_SIZE, "the server")]
    if project.max_file_size:
        limits.append((project.max_file_size, "this project"))
    plan_limit = plan_max_file_size(project)
    if plan_limit is not None:
        limits.append((plan_limit, "your plan"))
    return min(limits, key=lambda limit: limit[0])


def check_size(project, size: int, reservation=None) -> None:
    """The project's and the server's size limit (UploadError), then the owner's plan: file size,
    storage, uploads (billing's QuotaExceeded). `reservation`: the multipart upload being completed,
    whose declared size no longer counts as held."""
    if size > max_file_size(project):
        raise errors.file_too_large()
    check_upload(project=project, size=size, reservation=reservation)


def check_type(project, mime_type: str) -> None:
    patterns = [p.strip().lower() for p in project.allowed_mime_types.split(",") if p.strip()]
    if patterns and not any(fnmatch(mime_type.lower(), pattern) for pattern in patterns):
        raise errors.file_type_forbidden()


def check_content(project, content, name: str, mime_type: str) -> None:
    """The project's content rules beyond type and size: with SVG validation on, an SVG with
    scripts, event handlers or external references is refused (UploadError). `content` is left
    at its start."""
    if not project.svg_validation:
        return
    content.seek(0)
    head = content.read(SNIFF_BYTES)
    if not is_svg_candidate(head, name, mime_type):
        content.seek(0)
        return
    data = head + content.read(SVG_VALIDATE_MAX_BYTES + 1 - len(head))
    content.seek(0)
    try:
        check_svg(data)
    except UnsafeSvg as exc:
        raise errors.svg_forbidden(str(exc)) from None


def validate_metadata(metadata: dict) -> dict:
    if len(metadata) > METADATA_KEYS_MAX:
        raise errors.UploadError(
            "FileMetadataKeysNumberTooBigError",
            400,
            f"A file can not have more than {METADATA_KEYS_MAX} metadata keys.",
        )
    for key, value in metadata.items():
        if not METADATA_KEY.fullmatch(key):
            raise errors.metadata_invalid(
                f"File's metadata key `{key}` contains symbols not allowed by the metadata key format."
            )
        if not isinstance(value, str) or not value:
            raise errors.UploadError(
                "FileMetadataValueEmptyError", 400, f"Value of the file metadata key `{key}` can not be empty."
            )
        if "\x00" in value:  # PostgreSQL's jsonb cannot hold it
            raise errors.param_invalid(f"metadata[{key}]")
        if len(value) > METADATA_VALUE_MAX:
            raise errors.UploadError(
                "FileMetadataValueLengthTooBigError",
                400,
                f"Value of file metadata's key `{key}` can not be more than {METADATA_VALUE_MAX} symbols in length.",
            )
    return metadata


def file_upload(
    *,
    project,
    content,
    filename: str,
    store: bool,
    metadata: dict | None = None,
    source: str = "upload",
    file_uuid=None,
    described: tuple[str, dict | None] | None = None,
    initiator: dict | None = None,
    tags: list[str] | None = None,
    size_checked: bool = False,
) -> File:
    """Writes the bytes, then the File row, its `tags` (normalised already: files.tags) and its
    events in one transaction: file.uploaded, then file.stored when `store`.

    `content` is a Django File (streamed to storage in chunks). Raises UploadError for the project's
    limits and content rules (SVG validation), QuotaExceeded for its owner's plan. With EXIF
    stripping on, the bytes written (and the size recorded) are the stripped image's.
    `described`: `content`'s MIME type and image facts when the caller has read and checked them
    already (`_vet`, as file_upload_batch does). If the row cannot be written the bytes are
    deleted; a crash in between leaves an orphan blob that `storage_sweep_orphans` removes.
    `size_checked`: the caller ran check_size on `content` just before (file_upload_batch does,
    for every file before writing any): the plan's quotas are read once per file, not twice.
    """
    if not size_checked:
        check_size(project, content.size, reservation=file_uuid)
    file_uuid = file_uuid or uuid_lib.uuid4()
    name = clean_filename(filename)
    with _readable(project, content) as content:
        # Described from the upload itself when it can be re-read (a refused file writes nothing);
        # a one-way stream (parts joined from S3) is described from storage after the write.
        early = described or (_vet(project, content, name) if content.seekable() else None)
        content, early = _stripped(project, content, name, early)
        return _write(
            project=project,
            content=content,
            name=name,
            file_uuid=file_uuid,
            early=early,
            store=store,
            metadata=metadata,
            source=source,
            initiator=initiator,
            tags=tags,
        )


def _write(*, project, content, name, file_uuid, early, store, metadata, source, initiator, tags) -> File:
    storage, target_id = upload_storage(project)
    key = _save(storage, storage_key(project.pk, file_uuid), content)
    try:
        mime_type, image = early or _describe_stored(storage, key, name)
        check_type(project, mime_type)
        now = timezone.now()
        file = File(
            uuid=file_uuid,
            project=project,
            original_filename=name,
            size=content.size,
            mime_type=mime_type,
            image_info=image,
            metadata=metadata or {},
            source=source,
            storage_key=key,
            storage_target_id=target_id,
            datetime_uploaded=now,
            datetime_stored=now if store else None,
        )
        # Stored at upload: receivers hear of the file first, then of its storing.
        stored = [Event.Type.FILE_STORED] if store else []
        events = _new_file_events(file, [Event.Type.FILE_UPLOADED, *stored], initiator, tags or [])
        # The file, its tags, its events: SQL written once per process (core.rawsql), in one
        # statement on PostgreSQL. Where the connection autocommits, that statement is the
        # transaction: BEGIN and COMMIT would be two more round trips.
        own_transaction = rawsql.ONE_STATEMENT and connection.get_autocommit()
        with nullcontext() if own_transaction else transaction.atomic():
            rawsql.insert_rows([file], [FileTag(file=file, project=project, tag=tag) for tag in tags or []], events)
            wake_relay_on_commit()
            if is_media(mime_type):
                send_on_commit(MEDIA_ANALYSE_TASK, str(file.uuid))
            # After commit, so a long batch transaction never holds the day's usage row locked.
            # Robust: a failure only misses a count. A lambda, not a partial: Django names the
            # failed hook by __qualname__ when it logs, and a partial has none (the upload would
            # fail after its commit, and the bytes of a committed file would be deleted).
            transaction.on_commit(lambda: uploads_add(project_id=project.pk), robust=True)
    except BaseException:
        storage.delete(key)
        raise
    return file


class _readable:
    """`content` as is, or, when it is a one-way stream and the project's content rules need to
    read it before the write, spooled into a temporary file that is closed afterwards."""

    def __init__(self, project, content):
        self.content, self.spool = content, None
        if not content.seekable() and (project.svg_validation or project.strip_exif != "off"):
            self.spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024**2)  # noqa: SIM115 (closed in __exit__)
            for chunk in content.chunks():
                self.spool.write(chunk)
            self.spool.seek(0)
            spooled = DjangoFile(self.spool, name=content.name)
            spooled.size = content.size
            self.content = spooled

    def __enter__(self):
        return self.content

    def __exit__(self, *exc_info):
        if self.spool is not None:
            self.spool.close()


def _stripped(project, content, name: str, described):
    """`content` without the metadata the project strips from images, and its description anew
    (its size and image facts change); as it was when there is nothing to strip."""
    if project.strip_exif == "off" or described is None or described[0] not in STRIPPABLE:
        return content, described
    if content.size > STRIP_EXIF_MAX_SIZE:
        log.warning("image of %s bytes kept with its metadata (over the stripping limit)", content.size)
        return content, described
    content.seek(0)
    stripped = strip_metadata(content.read(), described[0], project.strip_exif)
    content.seek(0)
    if stripped is None:
        return content, described
    content = ContentFile(stripped, name=name)
    return content, _describe(content, name)


def _save(storage, key: str, content) -> str:
    """Writes the bytes under `key`. A write that fails part-way (a full disk) leaves no partial
    blob behind; a full disk raises UploadError 507."""
    try:
        return storage.save(key, content)
    except OSError as exc:
        # The key holds the new file's UUID. A multipart upload's file takes the upload's UUID, so
        # two completions racing write under the same key: the loser's read fails once the winner
        # has removed the parts, and the key then names the winner's committed bytes, not a partial.
        if not File.objects.filter(storage_key=key).exists():
            storage.delete(key)
        if errors.is_disk_full(exc):
            raise errors.storage_full() from exc
        raise


def file_upload_batch(
    *,
    project,
    uploads: list,
    store: bool,
    metadata: dict | None = None,
    source: str = "upload",
    initiator: dict | None = None,
    tags: list[str] | None = None,
) -> list[File]:
    """Uploads every file or none of them when one is refused (size, plan, type, content): all are
    checked before any is written, and each is then written in its own short transaction, never
    one long one around the copies (on SQLite that would hold the database's write lock)."""
    described = []
    for upload in uploads:
        check_size(project, upload.size)
        described.append(_vet(project, upload, clean_filename(upload.name)))  # read once, passed on
    return [
        file_upload(
            project=project,
            content=upload,
            filename=upload.name,
            store=store,
            metadata=metadata,
            source=source,
            described=facts,
            initiator=initiator,
            tags=tags,
            # The first file's check is the one just made; each later one is checked again with
            # the files before it written (and counted), as before this batch's own writes.
            size_checked=index == 0,
        )
        for index, (upload, facts) in enumerate(zip(uploads, described, strict=True))
    ]


def _vet(project, content, name: str) -> tuple[str, dict | None]:
    """`content`'s description, once the project's type and content rules accepted it."""
    described = _describe(content, name)
    check_type(project, described[0])
    check_content(project, content, name, described[0])
    return described


def _describe(content, name: str) -> tuple[str, dict | None]:
    """The MIME type and image facts of `content`, left at its start for the write that follows."""
    content.seek(0)
    head = content.read(SNIFF_BYTES)
    content.seek(0)
    mime_type = sniff_mime(head, name, None)
    return mime_type, image_info(content) if mime_type.startswith("image/") else None


def _describe_stored(storage, key: str, name: str) -> tuple[str, dict | None]:
    with storage.open(key, "rb") as stored:
        return _describe(stored, name)


def emit(file: File, event_type: str, initiator: dict | None = None, previous_values: dict | None = None) -> Event:
    """Writes an event to the outbox; call inside the transaction that made the change.
    `previous_values`: for file.info_updated, the metadata or appdata the change replaced, as
    Uploadcare's payload carries them (kept with the info: files.outbox.relay.PREVIOUS_VALUES)."""
    wake_relay_on_commit()
    payload = rest_file_info(file, include_appdata=True)  # webhooks carry appdata, as Uploadcare's do
    if previous_values is not None:
        payload[PREVIOUS_VALUES] = previous_values
    return Event.objects.create(
        project_id=file.project_id,
        type=event_type,
        file_uuid=file.uuid,
        payload=payload,
        initiator=initiator or UNKNOWN,
    )


def _new_file_events(file: File, event_types: list[str], initiator: dict | None, tags: list[str]) -> rawsql.Alike:
    """The events of a file about to be written, `tags` its tags, in order: its info built once
    from the row in hand (not read back). Written in the file's transaction, the relay woken after."""
    row = (*(getattr(file, name) for name in REST_INFO_COLUMNS), list(tags))
    payload = rest_infos_of_rows([row], include_appdata=True)[0]  # webhooks carry appdata
    event = Event(project_id=file.project_id, file_uuid=file.uuid, payload=payload, initiator=initiator or UNKNOWN)
    return rawsql.Alike(event, "type", event_types)


class FileRemovedError(Exception):
    """The file was deleted (or expired) before the change could be made."""


def file_store(*, file: File, initiator: dict | None = None) -> File:
    """Marks a file stored so expiry never removes it; emits file.stored. Raises FileRemovedError."""
    with transaction.atomic():
        # Conditional UPDATE: if expiry or a delete claimed the row first, 0 rows change.
        changed = File.objects.filter(pk=file.pk, datetime_removed__isnull=True, datetime_stored__isnull=True).update(
            datetime_stored=timezone.now()
        )
        file.refresh_from_db()
        if file.is_removed:
            raise FileRemovedError(str(file.uuid))
        if changed:
            emit(file, Event.Type.FILE_STORED, initiator)
    return file


def file_delete(*, file: File, initiator: dict | None = None) -> File:
    """Marks a file removed and deletes its bytes after commit; emits file.deleted. Safe to repeat."""
    with transaction.atomic():
        changed = File.objects.filter(pk=file.pk, datetime_removed__isnull=True).update(datetime_removed=timezone.now())
        file.refresh_from_db()
        if changed:
            emit(file, Event.Type.FILE_DELETED, initiator)
            transaction.on_commit(lambda: delete_bytes(file))
    return file


def is_media(mime_type: str) -> bool:
    return mime_type.startswith(("video/", "audio/"))


def file_media_info_set(*, file: File, media_info: dict) -> bool:
    """Records a media file's analysis once (a second analysis finds it done and writes nothing);
    emits file.info_updated when it adds video or audio info. Returns whether it was written."""
    with transaction.atomic():
        # Conditional UPDATE: 0 rows when another analysis got there first or the file was removed.
        written = File.objects.filter(pk=file.pk, media_info__isnull=True, datetime_removed__isnull=True).update(
            media_info=media_info
        )
        if written and media_info:
            file.refresh_from_db()
            # Neither metadata nor appdata changed: nothing to tell of their values before.
            emit(file, Event.Type.FILE_INFO_UPDATED, system_initiator("media_analysis"), {})
    return bool(written)


def file_metadata_set(*, file: File, key: str, value: str, initiator: dict | None = None) -> File:
    validate_metadata({key: value})
    with transaction.atomic():
        file = File.objects.select_for_update().get(pk=file.pk)
        if file.is_removed:
            raise FileRemovedError(str(file.uuid))
        if file.metadata.get(key) != value:
            if key not in file.metadata and len(file.metadata) >= METADATA_KEYS_MAX:
                validate_metadata({**file.metadata, key: value})
            previous = {"metadata": dict(file.metadata)}
            file.metadata[key] = value
            file.save(update_fields=["metadata"])
            emit(file, Event.Type.FILE_INFO_UPDATED, initiator, previous)
    return file


def file_metadata_delete(*, file: File, key: str, initiator: dict | None = None) -> File:
    with transaction.atomic():
        file = File.objects.select_for_update().get(pk=file.pk)
        if file.is_removed:
            raise FileRemovedError(str(file.uuid))
        if key in file.metadata:
            previous = {"metadata": dict(file.metadata)}
            del file.metadata[key]
            file.save(update_fields=["metadata"])
            emit(file, Event.Type.FILE_INFO_UPDATED, initiator, previous)
    return file


def file_purge_batch(*, project_id, limit: int) -> int:
    """Deletes up to `limit` files of a project, bytes first and rows after; returns how many.

    A crash between the two leaves rows whose bytes are already gone; the next run deletes
    them again (deleting a missing blob is harmless), so nothing is left half-done.
    """
    batch = list(File.objects.filter(project_id=project_id).only("uuid", "storage_key", "storage_target")[:limit])
    for file in batch:
        delete_bytes(file)
    File.objects.filter(uuid__in=[file.uuid for file in batch]).delete()
    return len(batch)


def file_lookup(*, project, file_id) -> File | None:
    """A project's file by UUID (string or UUID); None for malformed or foreign ids."""
    try:
        file_uuid = uuid_lib.UUID(str(file_id))
    except ValueError:
        return None
    return File.objects.filter(project=project, uuid=file_uuid).select_related("storage_target").first()


def file_copy(
    *, file: File, store: bool, effects: str = "", metadata: dict | None = None, initiator: dict | None = None
) -> File:
    """Copies a file to a new file of its project: its bytes streamed through storage, or, with
    `effects` (image operations without the leading `-/`), the image they render. The copy keeps
    the original's metadata, updated with `metadata`.

    Emits file.uploaded for the copy, then file.stored if `store`. Raises FileRemovedError if the
    original was deleted (or its bytes are gone), UploadError for operations that do not apply or
    the project's current limits, QuotaExceeded for its owner's plan.
    """
    if file.is_removed:
        raise FileRemovedError(str(file.uuid))
    metadata = validate_metadata({**file.metadata, **(metadata or {})})
    plan = _copy_plan(file, effects) if effects else None
    initiator = derived(initiator or UNKNOWN, file.uuid)
    try:
        original = storage_for(file).open(file.storage_key, "rb")
    except FileNotFoundError:
        raise FileRemovedError(str(file.uuid)) from None
    with original:
        content, filename = original, file.original_filename
        if plan is not None:
            content, filename = _rendered(file, original, plan)
        copy = file_upload(
            project=file.project,
            content=content,
            filename=filename,
            store=False,
            metadata=metadata,
            source="local_copy",
            initiator=initiator,
        )
    return file_store(file=copy, initiator=initiator) if store else copy


def _copy_plan(file: File, effects: str) -> images.Plan:
    if not file.is_image:
        raise errors.UploadError("FileNotImageError", 400, "Image operations apply to images only.")
    if file.size > COPY_WITH_EFFECTS_MAX_SIZE:
        raise errors.UploadError(
            "FileTooLargeError", 400, "A copy with image operations needs a source of at most 100 MB."
        )
    try:
        plan, _ = images.parse("-/" + effects)
    except ValueError as exc:
        raise errors.UploadError("InvalidOperationError", 400, str(exc)) from None
    if plan.answer:
        raise errors.UploadError(
            "InvalidOperationError", 400, f"-/{plan.answer[0]}/ answers with JSON; a copy is made of an image."
        )
    return plan


def _rendered(file: File, original, plan: images.Plan) -> tuple[ContentFile, str]:
    try:
        data, mime_type = images.render(original, plan)
    except images.UndecodableImage:
        raise errors.UploadError("FileNotImageError", 400, "The file could not be decoded as an image.") from None
    except images.Busy as exc:
        raise errors.UploadError("ServiceUnavailableError", 503, str(exc)) from None
    except ValueError as exc:  # a limit only the image reveals, or an overlay
        raise errors.UploadError("InvalidOperationError", 400, str(exc)) from None
    output = images.Output(kind=mime_type.removeprefix("image/"), tag="")
    name = images.rendering_filename(file.original_filename, output)
    return ContentFile(data, name=name), name
