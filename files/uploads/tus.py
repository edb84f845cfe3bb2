"""Resumable uploads with tus 1.0 (https://tus.io/protocols/resumable-upload): core, creation,
creation-with-upload, termination, checksum and expiration.

A tus upload is a MultipartUpload whose bytes arrive in order (`received` counts them), so it has
the multipart upload's limits, reservation against the quota, expiry by the same sweep, and
completion into a File whose UUID is the upload's. On local disk each PATCH is written at its
offset into the upload's one file; on S3 each becomes an object `parts/{uuid}/t{offset}`, and
completing streams them joined. Nothing lives in a process: an upload resumes across restarts.
"""

import base64
import binascii
import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.files import File as DjangoFile
from django.core.files.storage import default_storage
from django.db.models import F
from django.utils import timezone

from files import errors
from files.initiators import api_initiator
from files.models import File, MultipartUpload
from files.storage.backends import multipart_parts_delete, on_local_disk
from files.uploads.multipart import COPY_CHUNK, multipart_complete, multipart_start, write_at_offset

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHECKSUMS = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}


class TusError(Exception):
    """A tus-level refusal: its status (409 offset, 460 checksum, 410 gone…) and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def parse_metadata(header: str) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64value` pairs (a value may be absent)."""
    values = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            values[key] = base64.b64decode(encoded, validate=True).decode("utf-8") if encoded else ""
        except (binascii.Error, UnicodeDecodeError):
            raise TusError(400, f"Upload-Metadata: the value of {key!r} is not base64 of UTF-8 text.") from None
    return values


def tus_create(*, project, length: int, metadata: dict[str, str]) -> MultipartUpload:
    """Starts an upload of `length` bytes; `metadata` is what Upload-Metadata carried (filename,
    filetype, store, and any other keys, which become the file's metadata)."""
    filename = metadata.get("filename") or metadata.get("name") or "upload"
    reserved = {"pub_key", "filename", "name", "filetype", "content_type", "store", "signature", "expire"}
    upload = multipart_start(
        project=project,
        filename=filename,
        size=length,
        content_type=metadata.get("filetype") or metadata.get("content_type") or "",
        store=metadata.get("store") or "auto",
        metadata={key: value for key, value in metadata.items() if key not in reserved},
    )
    MultipartUpload.objects.filter(pk=upload.pk).update(received=0)
    upload.received = 0
    return upload


def tus_lookup(upload_id, project=None) -> MultipartUpload:
    """The tus upload behind a URL (of `project` when given); 404 when unknown (or not a tus
    upload), 410 once expired."""
    uploads = MultipartUpload.objects.select_related("project").filter(pk=upload_id, received__isnull=False)
    upload = (uploads if project is None else uploads.filter(project=project)).first()
    if upload is None or (upload.completed_at is not None and not File.objects.filter(pk=upload.pk).exists()):
        raise TusError(404, "No such upload.")
    if upload.completed_at is None and timezone.now() >= expires_at(upload):
        raise TusError(410, "The upload expired.")
    return upload


def expires_at(upload: MultipartUpload):
    return upload.created_at + timedelta(seconds=settings.FILEDOCK_MULTIPART_LIFETIME)


def tus_write(
    *,
    upload: MultipartUpload,
    offset: int,
    stream,
    length: int,
    checksum: str = "",
    initiator: dict | None = None,
    source: str = "multipart",
) -> int:
    """Writes a PATCH body at `offset` (which must be where the upload stands) and returns the new
    offset; completes the file once every byte is there, caused by `initiator` (a request to the
    Upload API unless given) and kept with `source`. A body that does not match its
    `Upload-Checksum` is not counted."""
    if upload.completed_at is not None:
        raise TusError(409, "The upload is complete.")
    if offset != upload.received:
        raise TusError(409, f"Upload-Offset is {offset}, the upload is at {upload.received}.")
    if offset + length > upload.size:
        raise TusError(413, f"The body goes past Upload-Length ({upload.size}).")
    hasher = _hasher(checksum)
    body = _Hashed(stream, hasher)
    if on_local_disk():
        write_at_offset(upload, offset, body, length)
        key = None
    else:
        key = f"parts/{upload.uuid}/t{offset:015d}"
        default_storage.delete(key)
        content = DjangoFile(_Exact(body, length), name=key)
        content.size, content.DEFAULT_CHUNK_SIZE = length, COPY_CHUNK
        key = default_storage.save(key, content)
    if hasher is not None and base64.b64encode(hasher[1].digest()).decode() != hasher[0]:
        if key is not None:
            default_storage.delete(key)
        raise TusError(460, "Checksum mismatch: the body is not counted; send it again.")
    # Conditional: a second PATCH racing this one at the same offset moves it once.
    moved = MultipartUpload.objects.filter(pk=upload.pk, received=offset).update(received=F("received") + length)
    if not moved:
        raise TusError(409, "Another request wrote at this offset first.")
    upload.received = offset + length
    if upload.received == upload.size:
        multipart_complete(upload=upload, initiator=initiator or api_initiator("upload_api"), source=source)
    return upload.received


def tus_terminate(*, upload: MultipartUpload) -> None:
    """Deletes an unfinished upload's bytes and row (termination); a finished one stays a file."""
    if upload.completed_at is not None:
        raise TusError(409, "The upload is complete: delete the file instead.")
    multipart_parts_delete(upload=upload)
    upload.delete()


def _hasher(header: str):
    if not header:
        return None
    name, _, digest = header.partition(" ")
    if name not in CHECKSUMS:
        raise TusError(400, f"Upload-Checksum: {name!r} is not one of {', '.join(CHECKSUMS)}.")
    return digest, CHECKSUMS[name]()


class _Hashed:
    """A request body, read through the checksum's hash."""

    def __init__(self, stream, hasher):
        self.stream, self.hash = stream, hasher[1] if hasher else None

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        if self.hash is not None:
            self.hash.update(data)
        return data


class _Exact:
    """Exactly `length` bytes of a body, for storage backends that read until the end; a body cut
    short is an error, not a short part."""

    def __init__(self, stream, length: int):
        self.stream, self.left = stream, length

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.stream.read(min(self.left, COPY_CHUNK if size is None or size < 0 else size))
        if not data:
            raise errors.UploadError("MultipartUploadSizeTooSmallError", 400, "The body was shorter than announced.")
        self.left -= len(data)
        return data
