from django.core.files.storage import default_storage
from django.db.models import Count, Sum

from files.models import File


def project_file_totals(*, project) -> dict:
    """Counts and bytes of a project's files that are not removed."""
    totals = File.objects.filter(project=project).present().aggregate(count=Count("uuid"), size=Sum("size"))
    return {"count": totals["count"], "size": totals["size"] or 0}


def file_purge_batch(*, project_id, limit: int) -> int:
    """Deletes up to `limit` files of a project, bytes first and rows after; returns how many.

    A crash between the two leaves rows whose bytes are already gone; the next run deletes
    them again (deleting a missing blob is harmless), so nothing is left half-done.
    """
    batch = list(File.objects.filter(project_id=project_id).values_list("uuid", "storage_key")[:limit])
    for _, key in batch:
        default_storage.delete(key)
    File.objects.filter(uuid__in=[pk for pk, _ in batch]).delete()
    return len(batch)
