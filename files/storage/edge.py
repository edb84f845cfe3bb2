"""The edge cache in front of the CDN (`deploy/nginx.conf.template`): what it may keep, and purging it.

nginx keys what it caches by `$uri$is_args$args` and keeps only what Django answers `public`. With
FILEDOCK_EDGE_PURGE_URL set, Django answers `public` only for a URL it has recorded here against
its file (at most EDGE_KEYS_PER_FILE per file, and only URLs nginx keys the same way), so when the
file goes (deleted, expired, its project purged) or its project turns signed URLs on, every key the
edge may hold is known and purged with `GET {FILEDOCK_EDGE_PURGE_URL}{key}`.

The entries are their own outbox: a purge that fails leaves them, and `edge_sweep` tries again.
Without FILEDOCK_EDGE_PURGE_URL nothing is recorded, and every cacheable answer stays `public`.
"""

import logging
import re
import urllib.error
import urllib.request
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from files.models import EdgeEntry, File
from projects.models import Project

log = logging.getLogger(__name__)
EDGE_KEYS_PER_FILE = 64  # the names, operations and tokens of one file the edge may hold
PURGE_TIMEOUT = 2.0
SWEEP_BATCH = 500
# nginx normalises these before it keys a request ($uri decodes %XX, resolves dot segments); a
# URL holding one may be keyed differently from what Django sees, so it is never left at the edge.
UNKEYABLE = re.compile(r"%|//|/\.\.?(?:/|$)")
INSERT = f"""
INSERT INTO {EdgeEntry._meta.db_table} (key, file_id, project_id)
SELECT %s, %s, %s WHERE (SELECT count(*) FROM {EdgeEntry._meta.db_table} WHERE file_id = %s) < %s
ON CONFLICT (key) DO UPDATE SET file_id = EXCLUDED.file_id
RETURNING 1
"""


def enabled() -> bool:
    return bool(settings.FILEDOCK_EDGE_PURGE_URL)


def edge_admit(request: HttpRequest, file: File) -> bool:
    """Whether this answer may be kept by the edge: yes without an edge; with one, once its key is
    recorded against `file` (no when the URL is one nginx keys differently, or the file has
    EDGE_KEYS_PER_FILE keys already)."""
    if not enabled():
        return True
    # The request line's URI as the client sent it (gunicorn: RAW_URI, uWSGI: REQUEST_URI): what
    # nginx keys. A server that does not give it cannot tell, so nothing is left at the edge.
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if not raw:
        return False
    path, _, query = raw.partition("?")
    if UNKEYABLE.search(path) or "#" in raw:
        return False
    key = path + (f"?{query}" if query else "")
    if len(key) > EdgeEntry._meta.get_field("key").max_length:
        return False
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [key, file.uuid, file.project_id, file.uuid, EDGE_KEYS_PER_FILE])
        return cursor.fetchone() is not None


def edge_purge_files(file_ids: Iterable) -> int:
    """Purges every key recorded for these files; returns how many are left (a purge failed)."""
    return _purge(EdgeEntry.objects.filter(file_id__in=list(file_ids)))


def edge_purge_project(project_id) -> int:
    """Purges every key recorded for the project's files (signed URLs were turned on)."""
    return _purge(EdgeEntry.objects.filter(project_id=project_id))


def edge_sweep() -> int:
    """Purges what a failed purge left: keys of files that are gone or removed, and of projects
    that sign their URLs. Returns how many are left."""
    present = File.objects.filter(datetime_removed__isnull=True).values("uuid")
    signed = Project.objects.filter(signed_delivery=True).values("id")
    stale = EdgeEntry.objects.exclude(file_id__in=present) | EdgeEntry.objects.filter(project_id__in=signed)
    return _purge(stale.order_by()[:SWEEP_BATCH])


def _purge(entries) -> int:
    if not enabled():
        return 0
    keys = list(entries.values_list("key", flat=True))
    done = [key for key in keys if _purge_one(key)]
    EdgeEntry.objects.filter(key__in=done).delete()
    return len(keys) - len(done)


def _purge_one(key: str) -> bool:
    """Asks the edge to drop `key`: done when it did (200) or held nothing under it (404)."""
    try:
        with urllib.request.urlopen(settings.FILEDOCK_EDGE_PURGE_URL + key, timeout=PURGE_TIMEOUT) as answer:
            return answer.status == 200
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return True
        log.warning("edge purge of %s answered %s", key, exc.code)
    except OSError as exc:
        log.warning("edge purge of %s failed: %s", key, exc)
    return False
