"""A project's cache: its renderings (Rendering rows) and its proxied copies (ProxiedFile rows),
held under FILEDOCK_CACHE_BUDGET bytes by evicting the least recently used, whatever their kind.

Anonymous traffic decides what is rendered and fetched, so it must not decide how much disk a
project takes: every new rendering or copy is counted here as it is kept, and past the budget the
oldest-used ones go (to 90 % of it, so eviction does not run on every miss). Being served moves an
entry up, to the hour, with one conditional UPDATE that is a no-op within the hour.
"""

from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Sum
from django.utils import timezone

from files.models import ProxiedFile, Rendering

TOUCH_EVERY = timedelta(hours=1)
EVICT_TO = 0.9  # of the budget
EVICT_BATCH = 200


def rendering_kept(*, key: str, size: int, project_id, file_id=None, proxied_id=None) -> None:
    """Counts a new rendering toward its project's cache, then evicts past the budget."""
    Rendering.objects.update_or_create(
        storage_key=key,
        defaults={"project_id": project_id, "file_id": file_id, "proxied_id": proxied_id, "size": size},
    )
    cache_evict(project_id)


def touched(model, **lookup) -> None:
    """Marks an entry as used now, at most once an hour (the LRU order needs no finer grain)."""
    now = timezone.now()
    model.objects.filter(used_at__lt=now - TOUCH_EVERY, **lookup).update(used_at=now)


def cache_used(project_id) -> int:
    renderings = Rendering.objects.filter(project_id=project_id).aggregate(total=Sum("size"))["total"] or 0
    copies = ProxiedFile.objects.filter(project_id=project_id).aggregate(total=Sum("size"))["total"] or 0
    return renderings + copies


def cache_evict(project_id) -> int:
    """Deletes the least recently used renderings and copies until the project is under its budget
    again; returns the bytes freed."""
    budget = settings.FILEDOCK_CACHE_BUDGET
    used = cache_used(project_id)
    if used <= budget:
        return 0
    target, freed = int(budget * EVICT_TO), 0
    while used - freed > target:
        oldest = _least_recently_used(project_id)
        if not oldest:
            break
        for _, kind, key, size in oldest:
            if used - freed <= target:
                break
            if kind == "rendering":
                default_storage.delete(key)
                Rendering.objects.filter(storage_key=key).delete()
                freed += size
            else:
                freed += _copy_evict(key)
    return freed


def _least_recently_used(project_id) -> list[tuple]:
    """The next few entries to evict, renderings and copies in one order: (used_at, kind, key, size)."""
    renderings = Rendering.objects.filter(project_id=project_id).order_by("used_at")
    copies = ProxiedFile.objects.filter(project_id=project_id).order_by("used_at")
    entries = [
        (u, "rendering", k, s) for u, k, s in renderings.values_list("used_at", "storage_key", "size")[:EVICT_BATCH]
    ]
    entries += [(u, "copy", k, s) for u, k, s in copies.values_list("used_at", "pk", "size")[:EVICT_BATCH]]
    return sorted(entries, key=lambda entry: entry[0])


def _copy_evict(pk) -> int:
    """A proxied copy with its renderings (fetched again when next asked for)."""
    copy = ProxiedFile.objects.filter(pk=pk).first()
    if copy is None:
        return 0
    freed = copy.size + (Rendering.objects.filter(proxied=copy).aggregate(total=Sum("size"))["total"] or 0)
    copy_version_delete(copy.storage_key)
    copy.delete()  # its Rendering rows go with it (CASCADE)
    return freed


def copy_version_delete(key: str) -> None:
    """A proxied copy's bytes and their renderings (`{key}-ops-...`), and their rows."""
    directory, version = key.rsplit("/", 1)
    try:
        _, names = default_storage.listdir(directory)
    except FileNotFoundError:
        names = []
    for name in names:
        if name.startswith(version):
            default_storage.delete(f"{directory}/{name}")
    Rendering.objects.filter(storage_key__startswith=key).delete()
