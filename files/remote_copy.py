"""Remote copies (REST `POST files/remote_copy/`): a file, or the image its operations render,
written to a bucket the project connected (custom storage or backups) under a key made from a
pattern, as Uploadcare copies to a custom storage.

A target is named by its bucket (the Storage page shows it as the remote copy target): with both
a custom storage and a backup bucket of the same name, the custom storage's connection (its
credentials and prefix) is used. The key is the connection's prefix followed by the pattern.
"""

import os
import re

from botocore.exceptions import ClientError

from files.models import BucketConnection, File
from files.services import FileRemovedError, _copy_plan, _rendered
from files.storage.backends import describe_error, open_stream, s3_client, storage_for
from files.storage.backups import transfer_config

# Uploadcare refuses files over 5 GB and answers only when the copy is made (its documented answer
# is the object's final URL, no job to poll). A copy here streams while the call waits, in bounded
# memory (two 5 MiB parts), so one call is held to what a bucket takes in well within a request's
# time at common speeds; a larger file is refused with a message saying so.
MAX_SIZE = 512 * 1024**2
MAX_KEY = 1024  # S3's limit, in UTF-8 bytes
DEFAULT_PATTERN = "${default}"
PATTERN_VARIABLE = re.compile(r"\$\{([a-z_]*)\}")
EXPANSIONS = {"default": "${uuid}/${auto_filename}", "auto_filename": "${filename}${effects}${ext}"}
VARIABLES = {"default", "auto_filename", "effects", "filename", "uuid", "ext"}


class RemoteCopyError(Exception):
    """The copy cannot be made; `field` is the request field at fault, `message` says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def remote_copy_target(*, project, name: str) -> BucketConnection | None:
    """The project's connected bucket called `name`; custom storage first if both are."""
    targets = BucketConnection.objects.filter(project=project, bucket=name, disconnected_at__isnull=True)
    return min(targets, key=lambda t: t.purpose != BucketConnection.Purpose.STORAGE, default=None)


def remote_copy_targets(*, project) -> list[str]:
    """The names a remote copy takes for this project, for the Storage page."""
    return sorted(
        set(
            BucketConnection.objects.filter(project=project, disconnected_at__isnull=True).values_list(
                "bucket", flat=True
            )
        )
    )


def remote_copy_key(*, pattern: str, file: File, filename: str, effects: str) -> str:
    """The object key `pattern` names for the copy (`filename`: the copy's, which operations may
    have renamed). Raises RemoteCopyError for an unknown variable or a key S3 does not take."""
    stem, ext = os.path.splitext(file.original_filename)
    values = {
        "uuid": str(file.uuid),
        "filename": stem,
        "ext": os.path.splitext(filename)[1] if effects else ext,
        "effects": f"-/{effects.strip('/')}/" if effects else "",
    }
    for name in PATTERN_VARIABLE.findall(pattern):
        if name not in VARIABLES:
            raise RemoteCopyError(
                "pattern", f"Unknown variable ${{{name}}}: use " + ", ".join(f"${{{v}}}" for v in sorted(VARIABLES))
            )
    for name, expansion in EXPANSIONS.items():
        pattern = pattern.replace(f"${{{name}}}", expansion)
    key = PATTERN_VARIABLE.sub(lambda m: values[m.group(1)], pattern).lstrip("/")
    if not key or len(key.encode()) > MAX_KEY or "\x00" in key:
        raise RemoteCopyError("pattern", f"The pattern must name a key of 1 to {MAX_KEY} bytes.")
    return key


def file_remote_copy(
    *,
    file: File,
    target: BucketConnection,
    effects: str = "",
    make_public: bool = True,
    pattern: str | None = None,
) -> str:
    """Streams the file (or the image `effects` renders) into the target bucket; returns its
    `s3://bucket/key`. Writes nothing here and emits nothing. Raises FileRemovedError,
    RemoteCopyError (too large, bad pattern, the key taken, the bucket refusing), UploadError for
    operations that do not apply."""
    if file.is_removed:
        raise FileRemovedError(str(file.uuid))
    if file.size > MAX_SIZE:
        raise RemoteCopyError("source", f"Files over {MAX_SIZE // 1024**2} MB are not copied to a bucket.")
    plan = _copy_plan(file, effects) if effects else None
    filename = file.original_filename
    content = None
    if plan is not None:
        try:
            with storage_for(file).open(file.storage_key, "rb") as original:
                content, filename = _rendered(file, original, plan)
        except FileNotFoundError:
            raise FileRemovedError(str(file.uuid)) from None
    key = target.prefix + remote_copy_key(
        pattern=pattern or DEFAULT_PATTERN, file=file, filename=filename, effects=effects
    )
    client = s3_client(target)
    extra = {"ContentType": file.mime_type if plan is None else _mime_of(filename, file.mime_type)}
    if make_public:
        extra["ACL"] = "public-read"
    try:
        if _exists(client, target.bucket, key):
            raise RemoteCopyError(
                "pattern", "Destination file with that name already exists. Check the pattern parameter."
            )
        if content is not None:
            client.upload_fileobj(content, target.bucket, key, ExtraArgs=extra, Config=transfer_config(content.size))
        else:
            try:
                stream = open_stream(file)
            except FileNotFoundError:
                raise FileRemovedError(str(file.uuid)) from None
            with stream:
                client.upload_fileobj(stream, target.bucket, key, ExtraArgs=extra, Config=transfer_config(file.size))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "AccessControlListNotSupported":
            raise RemoteCopyError(
                "make_public",
                "The bucket does not take ACLs (its objects are its owner's): copy with make_public false.",
            ) from None
        raise RemoteCopyError("target", f"The bucket refused the copy: {describe_error(exc, target)}") from None
    except (RemoteCopyError, FileRemovedError):
        raise
    except Exception as exc:  # the bucket unreachable, a timeout: the answer names it, never a 500
        raise RemoteCopyError("target", f"The copy failed: {describe_error(exc, target)}") from None
    return f"s3://{target.bucket}/{key}"


def _exists(client, bucket: str, key: str) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def _mime_of(filename: str, default: str) -> str:
    ext = os.path.splitext(filename)[1].lower().lstrip(".")
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg"}.get(ext, f"image/{ext}" if ext else default)
