"""Counting operations per project and day, and sampling what is stored.

Counters live in one `UsageDay` row per project and UTC day, so a busy project costs one
`UPDATE ... SET n = n + 1` per operation, not a row per request.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from billing.models import UsageDay, UsageFlush
from billing.periods import today
from core import rawsql
from core.redisconn import batches_to_apply, redis_client, redis_key, send_later
from files.models import File
from projects.models import Membership, Project

log = logging.getLogger(__name__)
COUNTERS = ("uploads", "api_calls", "webhook_deliveries", "traffic_bytes", "conversions")


def usage_add(
    *,
    project_id,
    uploads: int = 0,
    api_calls: int = 0,
    webhook_deliveries: int = 0,
    traffic_bytes: int = 0,
    conversions: int = 0,
    day: date | None = None,
) -> None:
    """Adds to the project's counters for today (or `day`). Creates the day's row on first use.

    Inside the caller's transaction it shares that transaction's durability. On its own (after a
    commit, per download, per API call) it does not wait for PostgreSQL's WAL flush: every request
    of a project updates the same row, and waiting milliseconds for the flush while holding that
    row locked serialises them all. A database crash may lose the last fraction of a second of
    counts, never a file or an event.
    """
    counts = (uploads, api_calls, webhook_deliveries, traffic_bytes, conversions)
    if connection.in_atomic_block:
        _add(project_id, day, *counts)
        return
    if connection.vendor == "postgresql":
        _add_alone(project_id, day, *counts)
        return
    with transaction.atomic():
        _add(project_id, day, *counts)


# One statement, so one round trip where BEGIN, SET LOCAL, UPDATE and COMMIT took four (a CDN
# request or an API call pays it every time). set_config(..., true) lasts until the statement's
# own transaction commits, and the commit reads it: the same no-wait commit as SET LOCAL.
NO_WAIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS no_wait"
ADD_SQL = f"""
INSERT INTO {UsageDay._meta.db_table} (project_id, day, {", ".join(COUNTERS)}, stored_bytes, file_count)
SELECT %s, %s, {", ".join(["%s"] * len(COUNTERS))}, 0, 0 FROM {NO_WAIT}
ON CONFLICT (project_id, day) DO UPDATE SET {
    ", ".join(f"{name} = {UsageDay._meta.db_table}.{name} + EXCLUDED.{name}" for name in COUNTERS)
}
"""


def _add_alone(project_id, day, *counts: int) -> None:
    if not any(counts):
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(ADD_SQL, [project_id, day or today(), *counts])
    except IntegrityError:  # the project is gone: nothing to count
        pass


# A call the owner's plan limits: counted unless the owner's projects (deleted ones too: their
# memberships stay) have used the month's calls up; the check and the count in one statement, so
# one round trip where a read and an upsert took two. No row back: refused, nothing written.
_MONTH_OF_CALLS = f"""(SELECT COALESCE(SUM(u.api_calls), 0) FROM {UsageDay._meta.db_table} u
    JOIN {Membership._meta.db_table} m ON m.project_id = u.project_id
    WHERE m.user_id = %s AND m.role = 'owner' AND u.day >= %s AND u.day < %s)"""
_CALL_WITHIN = f"""
INSERT INTO {UsageDay._meta.db_table} (project_id, day, {", ".join(COUNTERS)}, stored_bytes, file_count)
SELECT %s, %s, {", ".join("1" if name == "api_calls" else "0" for name in COUNTERS)}, 0, 0 {{source}}
WHERE {_MONTH_OF_CALLS} < %s
ON CONFLICT (project_id, day) DO UPDATE SET api_calls = {UsageDay._meta.db_table}.api_calls + 1
RETURNING 1
"""
CALL_WITHIN_SQL = {
    "postgresql": _CALL_WITHIN.format(source=f"FROM {NO_WAIT}"),  # the no-wait commit, as ADD_SQL
    "sqlite": _CALL_WITHIN.format(source=""),  # the embedded run
}


def api_call_add_within(*, project_id, owner_id, limit: int, month: tuple[date, date]) -> bool:
    """Counts one API call into the project's row for today unless the owner's projects have made
    `limit` calls in `month` (start, end) already; returns whether it was counted."""
    day, start, end = (rawsql.param(UsageDay, "day", value) for value in (today(), *month))
    params = [rawsql.param(UsageDay, "project", project_id), day, owner_id, start, end, limit]
    with connection.cursor() as cursor:
        cursor.execute(CALL_WITHIN_SQL[connection.vendor], params)
        return cursor.fetchone() is not None


def _add(project_id, day, *counts: int) -> None:
    deltas = {name: value for name, value in zip(COUNTERS, counts, strict=False) if value}
    if not deltas:
        return
    day = day or today()
    increments = {name: F(name) + value for name, value in deltas.items()}
    rows = UsageDay.objects.filter(project_id=project_id, day=day)
    if rows.update(**increments):
        return
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives a lost race
            UsageDay.objects.create(project_id=project_id, day=day, **deltas)
    except IntegrityError:
        # Another request created the day's row between our UPDATE and INSERT: add to it instead.
        # (If the project itself is gone, this updates nothing, which is right.)
        rows.update(**increments)


# Counts that need not be exact the moment they happen (traffic, per CDN send; API calls a plan
# does not limit, per REST call; uploads where quotas are off) wait in Redis and are written in
# batches (usage_add_later, or the REST rate limit's own script): one hash per day of
# "{project_id}:{counter}" -> amount ("{project_id}" alone, from before, is traffic). `usage_flush`
# renames the day's hash to a batch (new counts start a new hash), adds the batch to the UsageDay
# rows in one transaction with a UsageFlush row naming it, then deletes it; a batch left by a
# crash is applied on the next run unless its row says it was.
PENDING = "usage:pending:"
FLUSHING = "usage:flushing:"
FLUSH_ROWS_KEPT = timedelta(days=2)


def pending_slot(*, project_id, counter: str) -> tuple[str, str]:
    """The Redis hash and field today's pending `counter` of the project is added to (by
    traffic_add, or by files.rest.base in the rate limit's round trip)."""
    if counter not in COUNTERS:
        raise ValueError(f"no usage counter {counter!r}")
    return redis_key(PENDING, today().isoformat()), f"{project_id}:{counter}"


def usage_add_later(*, project_id, **counts: int) -> None:
    """Adds to the project's counters for today, for counts no quota reads at once: into Redis
    when there is one, with the request's other deferred commands (core.redisconn.send_later;
    `usage_flush` writes them), else, or with Redis failing, straight into today's row."""
    counts = {name: amount for name, amount in counts.items() if amount}
    if not counts:
        return
    if redis_client() is None:
        usage_add(project_id=project_id, **counts)
        return
    slots = [(*pending_slot(project_id=project_id, counter=name), amount) for name, amount in counts.items()]
    send_later(
        lambda pipeline: [pipeline.hincrby(*slot) for slot in slots],
        failed=lambda: usage_add(project_id=project_id, **counts),
    )


def traffic_add(*, project_id, sent: int) -> None:
    """Counts `sent` bytes of CDN traffic (no quota stops a download: it waits in Redis)."""
    usage_add_later(project_id=project_id, traffic_bytes=sent)


def uploads_add(*, project_id) -> None:
    """Counts an upload: at once where quotas apply, as billing.quotas.check_upload may read this
    month's uploads before the next (whether the owner's plan limits them would cost the owner
    lookup the check made again), else with the other counts that wait."""
    count = usage_add if settings.FILEDOCK_QUOTAS_ENFORCED else usage_add_later
    count(project_id=project_id, uploads=1)


def usage_flush() -> int:
    """Writes the counts waiting in Redis into UsageDay rows; returns the batches applied."""
    client = redis_client()
    if client is None:
        return 0
    applied = 0
    for batch in batches_to_apply(client, pending=PENDING, taken=FLUSHING):  # usage:flushing:<day>:<id>
        applied += _apply(client, batch)
    UsageFlush.objects.filter(applied_at__lt=timezone.now() - FLUSH_ROWS_KEPT).delete()
    return applied


def _apply(client, batch: str) -> int:
    day_text, batch_id = batch.rsplit(":", 2)[-2:]
    per_project: dict[uuid.UUID, dict[str, int]] = {}
    for field, amount in client.hgetall(batch).items():
        project_id, _, counter = field.decode().partition(":")
        counts = per_project.setdefault(uuid.UUID(project_id), dict.fromkeys(COUNTERS, 0))
        counts[counter or "traffic_bytes"] += int(amount)
    with transaction.atomic():
        _, new = UsageFlush.objects.get_or_create(id=batch_id)
        if new:
            day = date.fromisoformat(day_text)
            for project_id, counts in per_project.items():
                _add(project_id, day, *(counts[name] for name in COUNTERS))
    client.delete(batch)
    return int(new)


def usage_sample(*, project_ids: Iterable, day: date | None = None) -> int:
    """Writes the present bytes and file count of each project into its row for `day`. Idempotent.

    Running it again the same day overwrites the sample; counters are left alone.
    """
    project_ids = [uuid.UUID(str(pid)) for pid in project_ids]
    if not project_ids:
        return 0
    day = day or today()
    # Taken before the aggregate: a file uploaded during it is then counted twice by the quota
    # estimate (which adds files uploaded since `sampled_at`), never missed.
    sampled_at = timezone.now()
    totals = {
        row["project_id"]: row
        for row in File.objects.present()
        .filter(project_id__in=project_ids)
        .values("project_id")
        .annotate(size=Sum("size"), count=Count("uuid"))
    }
    rows = [
        UsageDay(
            project_id=pid,
            day=day,
            sampled_at=sampled_at,
            stored_bytes=(totals.get(pid) or {}).get("size") or 0,
            file_count=(totals.get(pid) or {}).get("count") or 0,
        )
        for pid in project_ids
    ]
    # INSERT ... ON CONFLICT (project, day) DO UPDATE on PostgreSQL and SQLite alike.
    UsageDay.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["project", "day"],
        update_fields=["stored_bytes", "file_count", "sampled_at"],
    )
    return len(rows)


def usage_sample_all(*, batch: int = 500, day: date | None = None) -> int:
    """Samples every live project, `batch` projects per query, in primary-key order."""
    done = 0
    last = None
    while True:
        projects = Project.objects.live().order_by("pk")
        if last is not None:
            projects = projects.filter(pk__gt=last)
        ids = list(projects.values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        done += usage_sample(project_ids=ids, day=day)
        last = ids[-1]
