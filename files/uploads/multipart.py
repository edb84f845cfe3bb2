"""Multipart uploads: start, parts PUT to signed URLs, complete turns the parts into one file.

On the server's own disk every part is written at its offset into one file, `parts/{uuid}/data`,
and an empty `parts/{uuid}/{n}` marks part n as whole: completing moves that file into place
(a rename, no copy). On S3 each part is its own object and completing streams them joined.
"""

import errno
import io
import os
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.files import File as DjangoFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from files import errors
from files.content import clean_filename
from files.models import File, MultipartUpload
from files.services import check_size, check_type, file_upload, resolve_store, validate_metadata
from files.storage.backends import multipart_parts_delete, on_local_disk, parts_data_key

PART_URL_MAX_AGE = settings.FILEDOCK_MULTIPART_LIFETIME
COPY_CHUNK = 1024 * 1024  # Django's 64 KiB default makes many small reads and writes
_signer = signing.TimestampSigner(salt="filedock.multipart.part")


def multipart_start(
    *, project, filename: str, size, content_type: str, store, metadata: dict, tags: list[str] | None = None
) -> MultipartUpload:
    """Records a multipart upload after checking its declared size and type against the limits.
    `tags` (normalised already: files.tags) are the file's once it is completed."""
    if not filename:
        raise errors.param_required("filename")
    try:
        size = int(size)
    except (TypeError, ValueError):
        raise errors.UploadError("MultipartSizeInvalidError", 400, "size should be integer.") from None
    if size < 1:
        raise errors.UploadError("MultipartSizeInvalidError", 400, "size should be a positive integer.")
    check_size(project, size)  # open uploads count toward storage by their declared sizes
    since = timezone.now() - timedelta(seconds=settings.FILEDOCK_MULTIPART_LIFETIME)
    still_open = MultipartUpload.objects.filter(project=project, completed_at__isnull=True, created_at__gte=since)
    if still_open.count() >= settings.FILEDOCK_MULTIPART_OPEN_MAX:
        raise errors.UploadError(
            "MultipartUploadsLimitExceededError",
            400,
            f"This project already has {settings.FILEDOCK_MULTIPART_OPEN_MAX} unfinished multipart uploads; "
            "complete them or wait for them to expire.",
        )
    if "\x00" in content_type:  # PostgreSQL text cannot hold it
        raise errors.param_invalid("content_type")
    if content_type:
        check_type(project, content_type)
    resolve_store(project, store)
    return MultipartUpload.objects.create(
        project=project,
        filename=clean_filename(filename),
        size=size,
        content_type=content_type or "",
        part_size=settings.FILEDOCK_MULTIPART_PART_SIZE,
        store=str(store or "auto"),
        metadata=validate_metadata(metadata),
        tags=tags or [],
    )


def part_token(upload: MultipartUpload, index: int) -> str:
    return _signer.sign(f"{upload.uuid}:{index}")


def part_check_token(upload_uuid, index: int, token: str) -> bool:
    try:
        return _signer.unsign(token, max_age=PART_URL_MAX_AGE) == f"{upload_uuid}:{index}"
    except signing.BadSignature:
        return False


def expected_part_size(upload: MultipartUpload, index: int) -> int:
    if index < upload.parts_count - 1:
        return upload.part_size
    return upload.size - upload.part_size * (upload.parts_count - 1)


def multipart_part_write(*, upload: MultipartUpload, index: int, stream, length: int) -> None:
    """Streams one part's body to storage (replacing an earlier attempt at the same part)."""
    if upload.completed_at is not None:
        raise errors.UploadError("MultipartFileAlreadyUploadedError", 400, "File is already uploaded.")
    if not 0 <= index < upload.parts_count:
        raise errors.UploadError("MultipartPartSizeInvalidError", 400, "Part number is out of range.")
    if length != expected_part_size(upload, index):
        raise errors.UploadError(
            "MultipartPartSizeInvalidError", 400, f"Part {index + 1} must be {expected_part_size(upload, index)} bytes."
        )
    key = upload.part_key(index)
    default_storage.delete(key)
    if on_local_disk():
        write_at_offset(upload, index * upload.part_size, stream, length)
        open(default_storage.path(key), "wb").close()  # the part is whole
        return
    body = DjangoFile(_Limited(stream, length), name=key)
    body.size = length
    body.DEFAULT_CHUNK_SIZE = COPY_CHUNK
    saved = default_storage.save(key, body)
    if default_storage.size(saved) != length:
        default_storage.delete(saved)
        raise errors.UploadError("MultipartUploadSizeTooSmallError", 400, "The part's body was shorter than announced.")


def multipart_complete(*, upload: MultipartUpload, initiator: dict | None = None, source: str = "multipart") -> File:
    """Makes the file from the parts (on local disk a rename, on S3 a streamed join) and removes the parts.
    `source`: the door the upload came in by, kept on the file (the dashboard's own tus uploads).

    Two completions racing make one file, and the loser hears "already uploaded": on PostgreSQL
    the second waits for the first (`_one_completion_at_a_time`); on SQLite, where the copy runs
    outside any transaction (one holds the database's write lock), the loser finds the parts
    gone or its row refused.
    """
    with _one_completion_at_a_time(upload):
        return _complete(upload, initiator, source)


@contextmanager
def _one_completion_at_a_time(upload: MultipartUpload):
    """On PostgreSQL a completion holds the upload's row locked until it commits, so a second one
    waits, then finds the upload completed and copies nothing: both would write under the
    upload's UUID, and the loser's failed copy would be left beside the winner's file. On SQLite
    a transaction would hold the whole database's write lock through the copy, so there two
    racing completions may both copy and the loser's row is refused."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        MultipartUpload.objects.select_for_update().filter(pk=upload.pk).first()
        yield


def _complete(upload: MultipartUpload, initiator: dict | None, source: str) -> File:
    upload = MultipartUpload.objects.select_related("project").get(pk=upload.pk)
    if upload.completed_at is not None:
        raise _already_uploaded()
    keys = part_keys(upload)
    if not all(default_storage.exists(k) for k in keys):
        raise errors.UploadError("MultipartUploadSizeTooSmallError", 400, "File size mismatch. Not all parts uploaded?")
    content = _assembled(upload) or _joined(keys, upload.filename)
    try:
        if content.size != upload.size:
            if File.objects.filter(uuid=upload.uuid).exists():
                raise _already_uploaded()
            raise errors.UploadError(
                "MultipartFileCompletionFailedError", 400, "Can not complete upload. Wrong parts size?"
            )
        file = file_upload(
            project=upload.project,
            content=content,
            filename=upload.filename,
            store=resolve_store(upload.project, upload.store),
            metadata=upload.metadata,
            source=source,
            file_uuid=upload.uuid,
            initiator=initiator,
            tags=upload.tags,
        )
    except (IntegrityError, FileNotFoundError):  # a completion racing this one won
        raise _already_uploaded() from None
    finally:
        content.close()
    MultipartUpload.objects.filter(pk=upload.pk).update(completed_at=timezone.now())
    multipart_parts_delete(upload=upload)
    return file


def part_keys(upload: MultipartUpload) -> list[str]:
    """The keys of the parts a completion joins, in order: Uploadcare's numbered parts; a tus
    upload's chunks on S3, named by offset (on local disk it has none: its bytes are in one file)."""
    if upload.received is None:
        return [upload.part_key(i) for i in range(upload.parts_count)]
    if on_local_disk():
        return []
    try:
        _, names = default_storage.listdir(f"parts/{upload.uuid}")
    except FileNotFoundError:
        return []
    return [f"parts/{upload.uuid}/{name}" for name in sorted(name for name in names if name.startswith("t"))]


def write_at_offset(upload: MultipartUpload, offset: int, stream, length: int) -> None:
    """Copies `length` bytes of the body into the upload's one file at `offset`: in 1 MiB reads, or
    from a file (the edge's body file, files.uploads.edge) inside the kernel."""
    path = default_storage.path(parts_data_key(upload))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)  # no O_TRUNC: other parts are in there
    try:
        written = _copy_file_range(stream, fd, offset, length) if isinstance(stream, io.FileIO) else 0
        while written < length:
            data = stream.read(min(COPY_CHUNK, length - written))
            if not data:
                raise errors.UploadError(
                    "MultipartUploadSizeTooSmallError", 400, "The part's body was shorter than announced."
                )
            view = memoryview(data)
            while view:
                done = os.pwrite(fd, view, offset + written)
                view, written = view[done:], written + done
    finally:
        os.close(fd)


def _copy_file_range(source: io.FileIO, fd: int, offset: int, length: int) -> int:
    """Copies up to `length` bytes from `source`'s position to `fd` at `offset` with copy_file_range
    (no bytes through Python; on a filesystem with reflinks no bytes copied at all). Returns the
    count copied, which is short only at the end of `source`; 0 when the kernel cannot copy
    between the two (another filesystem), leaving the caller to read and write."""
    written = 0
    try:
        while written < length:
            done = os.copy_file_range(source.fileno(), fd, length - written, None, offset + written)
            if not done:
                break
            written += done
    except OSError as exc:
        if written or exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise
    return written


class _Assembled(DjangoFile):
    """The upload's one file on disk: FileSystemStorage moves a file with a path instead of copying it."""

    def temporary_file_path(self) -> str:
        return self.file.name


def _assembled(upload: MultipartUpload) -> DjangoFile | None:
    """The upload's one file on local disk; None on S3, for parts written before that layout, or
    when a completion racing this one has already moved the file (the parts then join to nothing)."""
    if not on_local_disk():
        return None
    try:
        return _Assembled(open(default_storage.path(parts_data_key(upload)), "rb"), name=upload.filename)
    except FileNotFoundError:
        return None


def _joined(keys: list[str], filename: str) -> DjangoFile:
    content = DjangoFile(_Joined(keys), name=filename)
    content.DEFAULT_CHUNK_SIZE = COPY_CHUNK
    content.size = sum(default_storage.size(k) for k in keys)
    return content


def _already_uploaded() -> errors.UploadError:
    return errors.UploadError("MultipartFileAlreadyUploadedError", 400, "File is already uploaded.")


def multipart_sweep_abandoned(*, older_than_seconds: int = PART_URL_MAX_AGE, limit: int = 500) -> int:
    """Deletes the parts and rows of uploads never completed within the part URLs' lifetime."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = list(MultipartUpload.objects.filter(created_at__lt=cutoff)[:limit])
    for upload in stale:
        multipart_parts_delete(upload=upload)
        upload.delete()
    return len(stale)


class _Limited(io.RawIOBase):
    """Reads at most `length` bytes from a request body stream."""

    def __init__(self, stream, length: int):
        self.stream, self.left = stream, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        data = self.stream.read(min(len(buffer), self.left, 1024 * 1024))
        buffer[: len(data)] = data
        self.left -= len(data)
        return len(data)


class _Joined(io.RawIOBase):
    """The parts in order, read as one stream."""

    def __init__(self, keys: list[str]):
        self.keys, self.current = list(keys), None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self.current is None:
                if not self.keys:
                    return 0
                self.current = default_storage.open(self.keys.pop(0), "rb")
            data = self.current.read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            self.current.close()
            self.current = None

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
        super().close()
