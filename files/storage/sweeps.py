"""Sweeps over bytes without a live row: orphan blobs, and what a deleted project leaves besides its files."""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from files.models import File, MultipartUpload
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
        for key in sorted(keys - live):
            if default_storage.get_modified_time(key) < cutoff:
                default_storage.delete(key)
                removed += 1
                if removed >= limit:
                    return removed
    return removed
