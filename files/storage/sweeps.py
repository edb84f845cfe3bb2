"""Sweeps over bytes that are not files: what a deleted project leaves behind besides its files."""

from files.models import MultipartUpload
from files.services import storage_delete_tree
from files.uploads.multipart import multipart_parts_delete


def project_cached_bytes_purge(*, project_id) -> None:
    """A deleted project's bytes that are not files: proxy copies with their renderings, and the
    parts of unfinished multipart uploads (their rows go with the project)."""
    storage_delete_tree(f"proxy/{project_id}")
    for upload in MultipartUpload.objects.filter(project_id=project_id, completed_at__isnull=True):
        multipart_parts_delete(upload=upload)
