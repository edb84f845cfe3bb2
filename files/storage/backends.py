"""Where a file's bytes live: the server's default storage or a project's own S3-compatible bucket.

Every read and write of file bytes asks here instead of using default_storage directly, so a file
uploaded before a project connected (or disconnected) its bucket keeps working where it is.
"""

import contextlib
import logging
import os
import threading

import boto3
from botocore.awsrequest import AWSHTTPConnection, AWSHTTPConnectionPool, AWSHTTPSConnection, AWSHTTPSConnectionPool
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from storages.backends.s3 import S3Storage

from core import rawsql
from core.fetch import FetchRefused, check_url
from files.models import BucketConnection, File, MultipartUpload, Rendering
from files.storage.edge import edge_purge_files

log = logging.getLogger(__name__)
MESSAGE_MAX = 500  # the longest error text kept for the dashboard

# Bucket connections are never edited (a change is a new connection), so a storage built for one
# stays right for as long as the process lives.
_storages: dict = {}
_clients: dict = {}
_lock = threading.Lock()
CACHE_MAX = 256
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
SPOOL_MAX = 8 * 1024 * 1024


def client_config() -> Config:
    # Bounded waits: a target that is down must fail the attempt, not hang the worker.
    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"max_attempts": 2},
        signature_version="s3v4",
    )


class _Pinned:
    """A connection to a customer's bucket resolves its host through the outbound guard when it
    connects and connects to that checked address (urllib3's `_dns_host`; TLS still verifies the
    name): a name that later resolves inward, or differently between check and connect, gets no
    file's bytes (core.fetch.FetchRefused)."""

    def _new_conn(self):
        scheme = "https" if isinstance(self, AWSHTTPSConnection) else "http"
        _, self._dns_host, _ = check_url(f"{scheme}://{self.host}:{self.port}/")
        return super()._new_conn()


class _PinnedHTTPConnection(_Pinned, AWSHTTPConnection):
    pass


class _PinnedHTTPSConnection(_Pinned, AWSHTTPSConnection):
    pass


class _PinnedHTTPPool(AWSHTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(AWSHTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


def pinned(client):
    """The boto3 client, its connections made through the guard (_Pinned). botocore keeps the pool
    classes in one dict its pool managers share; replacing its entries reaches every connection."""
    client._endpoint.http_session._pool_classes_by_scheme.update(http=_PinnedHTTPPool, https=_PinnedHTTPSPool)
    return client


class GuardedS3Storage(S3Storage):
    """django-storages' S3Storage for a customer's bucket, its connections pinned (_Pinned)."""

    @property
    def connection(self):
        resource = super().connection
        pinned(resource.meta.client)
        return resource


def storage_for_target(target: BucketConnection) -> S3Storage:
    """A django-storages S3Storage for the target's bucket, its prefix as the location."""
    with _lock:
        storage = _storages.get(target.pk)
        if storage is None:
            if len(_storages) >= CACHE_MAX:
                _storages.clear()
            storage = _storages[target.pk] = GuardedS3Storage(
                bucket_name=target.bucket,
                endpoint_url=target.endpoint_url or None,
                region_name=target.region or None,
                access_key=target.access_key,
                secret_key=target.secret_key,
                location=target.prefix.strip("/"),
                client_config=client_config(),
                file_overwrite=True,  # keys hold the file's UUID: never taken, no HEAD per save
                default_acl=None,
                querystring_expire=300,
                # A read spools to disk past this, so opening a large file never fills memory.
                max_memory_size=SPOOL_MAX,
            )
    return storage


def storage_for(file: File) -> Storage:
    """The storage holding `file`'s bytes."""
    if file.storage_target_id is None:
        return default_storage
    return _storage_of(file.storage_target_id)


def _storage_of(target_id) -> Storage:
    """The storage of a bucket connection by its id, built once per process."""
    storage = _storages.get(target_id)
    if storage is None:
        storage = storage_for_target(BucketConnection.objects.get(pk=target_id))
    return storage


def _connected_storage_ids(project):
    """The id of the project's connected custom storage (one at most: a constraint), as a query."""
    return BucketConnection.objects.filter(
        project=project, purpose=BucketConnection.Purpose.STORAGE, disconnected_at__isnull=True
    ).values_list("pk", flat=True)


def upload_target_sql(project: str) -> str:
    """`_connected_storage_ids` as a SQL expression on the Project row aliased `project`, for the
    Upload API's hand-written project lookup (files.uploads.auth): selected as `upload_target_id`,
    it spares `upload_storage` a query. One parameter: BucketConnection.Purpose.STORAGE."""
    return (
        f"(SELECT b.id FROM {rawsql.table(BucketConnection)} b WHERE b.project_id = {project}.id"
        " AND b.purpose = %s AND b.disconnected_at IS NULL LIMIT 1)"
    )


def upload_storage(project) -> tuple[Storage, object | None]:
    """Where a new upload of `project` goes: (storage, its BucketConnection's id), the id None for
    the default storage. Read from the project's `upload_target_id` annotation when it has one."""
    if hasattr(project, "upload_target_id"):
        target_id = project.upload_target_id
    else:
        target_id = _connected_storage_ids(project).first()
    if target_id is None:
        return default_storage, None
    return _storage_of(target_id), target_id


def s3_client(target: BucketConnection, cached: bool = True):
    """A plain boto3 client for the target (backups copy with boto3's managed transfer).

    Cached per connection: a new session loads botocore's service models again (about 10 MB).
    Clients are thread-safe; an unsaved connection being tested is not cached.
    """
    if not cached:
        return _new_client(target)
    with _lock:
        client = _clients.get(target.pk)
        if client is None:
            if len(_clients) >= CACHE_MAX:
                _clients.clear()
            client = _clients[target.pk] = _new_client(target)
    return client


def _new_client(target: BucketConnection):
    return pinned(
        boto3.session.Session().client(
            "s3",
            endpoint_url=target.endpoint_url or None,
            region_name=target.region or None,
            aws_access_key_id=target.access_key,
            aws_secret_access_key=target.secret_key,
            config=client_config(),
        )
    )


def open_stream(file: File):
    """A forward-only binary stream of the file's bytes that never holds the whole file.

    An S3File would download the object into a spool on first read; S3's own body streams.
    """
    storage = storage_for(file)
    if isinstance(storage, S3Storage):
        key = storage._normalize_name(file.storage_key)
        try:
            return storage.bucket.Object(key).get()["Body"]
        except storage.connection.meta.client.exceptions.NoSuchKey:
            raise FileNotFoundError(file.storage_key) from None
    return storage.open(file.storage_key, "rb")


def storage_delete_many(storage: Storage, keys: list[str]) -> None:
    """Deletes many keys of one storage, missing ones being no error (expiry and purges).

    S3: delete_objects, 1,000 keys a request. Local disk: one unlink each, without the existence
    check Storage.delete makes first. Keys a bucket failed to delete stay as orphans (logged).
    """
    if isinstance(storage, S3Storage):
        names = [storage._normalize_name(key) for key in keys]
        client = storage.connection.meta.client  # this thread's own client (expiry deletes from a second thread)
        for start in range(0, len(names), 1000):
            answer = client.delete_objects(
                Bucket=storage.bucket_name,
                Delete={"Objects": [{"Key": name} for name in names[start : start + 1000]], "Quiet": True},
            )
            for error in answer.get("Errors", []):
                log.warning("could not delete %s: %s", error.get("Key"), error.get("Code"))
    elif isinstance(storage, FileSystemStorage):
        # Keys come from our own rows (files/<project>/<uuid>), so a plain join is safe and
        # safe_join's normalisation is work for nothing.
        root = storage.location
        for key in keys:
            try:
                os.unlink(os.path.join(root, key))
            except FileNotFoundError:
                pass
    else:
        for key in keys:
            storage.delete(key)


def previews_delete_many(file_uuids: list) -> None:
    """Deletes the cached previews (previews/<uuid>/...) of many files from the default storage,
    and purges the files' URLs from the edge cache."""
    edge_purge_files(file_uuids)
    Rendering.objects.filter(file_id__in=file_uuids).delete()
    if isinstance(default_storage, FileSystemStorage):
        for file_uuid in file_uuids:
            folder = os.path.join(default_storage.location, "previews", str(file_uuid))
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                continue  # the usual case: a file never previewed costs one failed listdir
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
            with contextlib.suppress(OSError):  # a preview rendered meanwhile keeps the folder
                os.rmdir(folder)
        return
    keys = []
    for file_uuid in file_uuids:
        try:
            _, names = default_storage.listdir(f"previews/{file_uuid}")
        except FileNotFoundError:
            continue
        keys += [f"previews/{file_uuid}/{name}" for name in names]
    storage_delete_many(default_storage, keys)


def describe_error(exc: BaseException, target: BucketConnection) -> str:
    """A short, secret-free description of an S3 failure for the dashboard."""
    if isinstance(exc, HTTPClientError) and isinstance(exc.kwargs.get("error"), FetchRefused):
        exc = exc.kwargs["error"]  # the guard refused the connection inside botocore
    if isinstance(exc, FetchRefused):
        message = f"The endpoint is refused: {exc.message}"
    elif isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = f"{error.get('Code') or status}: {error.get('Message') or 'the bucket refused the request'}"
    elif isinstance(exc, BotoCoreError | ValueError | OSError):
        message = str(exc) or type(exc).__name__
    else:
        message = f"{type(exc).__name__}: {exc}"
    for secret in (target.secret_key,):
        if secret:
            message = message.replace(secret, "••••")
    return message[:MESSAGE_MAX]


def delete_bytes(file: File) -> None:
    """Deletes a file's bytes (where they live) and its cached previews (missing ones are no error),
    and purges its URLs from the edge cache."""
    edge_purge_files([file.uuid])
    storage_for(file).delete(file.storage_key)
    Rendering.objects.filter(file_id=file.uuid).delete()
    folder = f"previews/{file.uuid}"
    try:
        _, names = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        default_storage.delete(f"{folder}/{name}")


def storage_delete_tree(prefix: str) -> int:
    """Deletes every object under `prefix` in the default storage (a folder on disk, a key prefix on S3)."""
    try:
        folders, names = default_storage.listdir(prefix)
    except FileNotFoundError:
        return 0
    for name in names:
        default_storage.delete(f"{prefix}/{name}")
    return len(names) + sum(storage_delete_tree(f"{prefix}/{folder}") for folder in folders)


def on_local_disk() -> bool:
    return isinstance(default_storage, FileSystemStorage)


def parts_data_key(upload: MultipartUpload) -> str:
    return f"parts/{upload.uuid}/data"


def multipart_parts_delete(*, upload: MultipartUpload) -> None:
    """Deletes an upload's part bytes and markers (missing ones are no error); the row stays."""
    for index in range(upload.parts_count):
        default_storage.delete(upload.part_key(index))
    if upload.received is not None and not on_local_disk():  # a tus upload's chunks, named by offset
        try:
            _, names = default_storage.listdir(f"parts/{upload.uuid}")
        except FileNotFoundError:
            names = []
        storage_delete_many(default_storage, [f"parts/{upload.uuid}/{name}" for name in names])
    default_storage.delete(parts_data_key(upload))
    if on_local_disk():
        try:
            os.rmdir(default_storage.path(f"parts/{upload.uuid}"))
        except OSError:  # not empty (a part arriving late) or already gone
            pass
