"""Sweeps over bytes without a live row: orphan blobs, and what a deleted project leaves besides its files."""

import uuid
from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from files.models import File, MultipartUpload, ProxiedFile
from files.storage.backends import multipart_parts_delete, storage_delete_tree


def project_cached_bytes_purge(*, project_id) -> None:
    """A deleted project's bytes that are not files: proxy copies with their renderings, and the
    parts of unfinished multipart uploads (their rows go with the project)."""
    storage_delete_tree(f"proxy/{project_id}")
    for upload in MultipartUpload.objects.filter(project_id=project_id, completed_at__isnull=True):
        multipart_parts_delete(upload=upload)


def storage_sweep_orphans(*, older_than: timedelta = timedelta(hours=1), limit: int = 10000) -> int:
    """Deletes blobs under files/ that have no live File row (a crash between bytes and row, or
    between marking a file removed and deleting its bytes). Young blobs may be mid-upload."""
    cutoff = timezone.now() - older_than
    removed = 0
    try:
        project_dirs, _ = default_storage.listdir("files")
    except FileNotFoundError:
        return 0
    for project_dir in project_dirs:
        _, names = default_storage.listdir(f"files/{project_dir}")
        keys = {f"files/{project_dir}/{name}" for name in names}
        live = set(
            File.objects.filter(storage_key__in=keys, datetime_removed__isnull=True).values_list(
                "storage_key", flat=True
            )
        )
        removed += _delete_old(sorted(keys - live), cutoff, limit - removed)
        if removed >= limit:
            return removed
    return removed + proxy_sweep_orphans(cutoff=cutoff, limit=limit - removed)


def proxy_sweep_orphans(*, cutoff, limit: int) -> int:
    """Deletes proxied bytes and renderings that no copy's row names: a fetch that failed after
    writing (an origin's absurd header, a crash), or a copy replaced while its old version was read."""
    removed = 0
    try:
        project_dirs, _ = default_storage.listdir("proxy")
    except FileNotFoundError:
        return 0
    for project_dir in project_dirs:
        if not _is_uuid(project_dir):
            continue  # not a folder the proxy writes
        digests, _ = default_storage.listdir(f"proxy/{project_dir}")
        for digest in digests:
            _, names = default_storage.listdir(f"proxy/{project_dir}/{digest}")
            live = set(
                ProxiedFile.objects.filter(project_id=project_dir, url_hash=digest).values_list(
                    "storage_key", flat=True
                )
            )
            keys = [f"proxy/{project_dir}/{digest}/{name}" for name in names]
            orphans = [key for key in keys if not any(key == k or key.startswith(f"{k}-") for k in live)]
            removed += _delete_old(orphans, cutoff, limit - removed)
            if removed >= limit:
                return removed
    return removed


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _delete_old(keys: list[str], cutoff, limit: int) -> int:
    """Deletes those of `keys` last written before `cutoff` (younger ones may be mid-write)."""
    removed = 0
    for key in keys:
        if removed >= limit:
            break
        if default_storage.get_modified_time(key) < cutoff:
            default_storage.delete(key)
            removed += 1
    return removed
