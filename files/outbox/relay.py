"""The outbox relay: turns events written with their changes into work for the workers.

Services write an Event row in the same transaction as the change (files.services.emit).
The relay claims unrelayed rows, hands each to every consumer (webhook deliveries, backup
jobs, ...), which create their own rows in the same transaction, and marks the events
relayed. A consumer takes the list of claimed events and makes its work for all of them at once.
It runs when woken after a commit and from a beat sweep, so an event written while the
broker was down is relayed once it is back; nothing depends on the wake-up arriving.
"""

import logging
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.utils import timezone

from core.jobs import send
from core.redisconn import redis_client, redis_key, send_later
from files.info import rest_file_infos
from files.models import Event, File

RELAY_TASK = "files.tasks.relay_outbox"
# The key under which a file.info_updated event keeps, beside the file's info, the values the
# change replaced (Uploadcare's `previous_values`); not part of the info itself.
PREVIOUS_VALUES = "previous_values"
PRUNE_TASK = "files.tasks.prune_outbox"
# Events one prune transaction deletes, and batches per run (beat runs it every minute): up to
# 50,000 a minute, far more than the relay writes, in transactions short enough not to hold anyone.
PRUNE_BATCH = 1000
PRUNE_BATCHES_PER_RUN = 50

log = logging.getLogger(__name__)


def consumers():
    functions = []
    for path in settings.FILEDOCK_OUTBOX_CONSUMERS:
        module, _, name = path.rpartition(".")
        functions.append(getattr(import_module(module), name))
    return functions


def outbox_relay(*, limit: int = 500) -> int:
    """Relays up to `limit` events in order; returns how many. Safe to run concurrently."""
    with transaction.atomic():
        events = _claim(limit)
        for consume in consumers():
            consume(events)
        Event.objects.filter(pk__in=[e.pk for e in events]).update(relayed_at=timezone.now())
    return len(events)


def _claim(limit: int) -> list[Event]:
    """The oldest `limit` unrelayed events, locked. SKIP LOCKED: two relays running at once take
    different events instead of waiting."""
    claim = Event.objects.select_for_update(skip_locked=True).filter(relayed_at__isnull=True).order_by("id")
    if connection.vendor != "postgresql":
        return list(claim[:limit])
    # The claim walks event_unrelayed in order of id. After a burst (expiry writes a thousand
    # events a batch) statistics lag behind, and the planner would rather fetch every unrelayed
    # event and sort them, for each claim. Sorting is off for this one query, not the consumers'.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        events = list(claim[:limit])
        cursor.execute("RESET enable_sort")
    return events


def event_file_infos(events: list[Event]) -> list[dict]:
    """Each event's file info, as its webhook body carries it.

    Most events hold it in their payload, taken when they were written. Expiry's file.deleted
    events hold none: their file is removed, and a removed file no longer changes, so its info
    read now is its info at the event. Those are read here in one query, only for the events a
    consumer asks about.
    """
    unread = {event.file_uuid for event in events if not event.payload and event.file_uuid}
    files = list(File.objects.filter(uuid__in=unread, datetime_removed__isnull=False)) if unread else []
    infos = rest_file_infos(files, include_appdata=True)
    read = {file.uuid: info for file, info in zip(files, infos, strict=True)}
    return [_info(event.payload) or read.get(event.file_uuid) or {"uuid": str(event.file_uuid)} for event in events]


def _info(payload: dict) -> dict:
    return (
        {key: value for key, value in payload.items() if key != PREVIOUS_VALUES}
        if PREVIOUS_VALUES in payload
        else payload
    )


def event_previous_values(event: Event) -> dict | None:
    """What a file.info_updated event's change replaced ({} when not recorded); None for other events."""
    if event.type != Event.Type.FILE_INFO_UPDATED:
        return None
    return event.payload.get(PREVIOUS_VALUES) or {}


def outbox_prune(*, limit: int = PRUNE_BATCH) -> int:
    """Deletes up to `limit` relayed events older than FILEDOCK_EVENT_RETENTION_DAYS, oldest first;
    returns how many. An unrelayed event is never deleted, however old: its work is still to make.

    One transaction per batch. The rows are locked with SKIP LOCKED, so two prunes running at once
    take different rows, and a relay's claim (which locks unrelayed rows only) never waits on it.
    Deliveries keep their own payload; their link to a deleted event is emptied (SET_NULL).
    """
    cutoff = timezone.now() - timedelta(days=settings.FILEDOCK_EVENT_RETENTION_DAYS)
    with transaction.atomic():
        ids = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(relayed_at__isnull=False, created_at__lt=cutoff)
            .order_by("id")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Event.objects.filter(pk__in=ids).delete()
    return len(ids)


# While a wake-up is queued and its run has not started, commits send no other: that run clears
# the mark before it claims, so it takes every event committed before the mark was seen. A lost
# message holds the others back until the mark expires (the beat sweep relays meanwhile). The mark
# is in Redis (its SET goes with the request's other deferred commands), else in the cache.
WAKE_PENDING_SECONDS = 5


def wake_mark() -> str:
    return redis_key("outbox:", "wake-pending")  # named after the database, as every key there


def wake_relay() -> None:
    """Asks a worker to relay now, unless a wake-up is already waiting for its run; call after
    commit. A missing broker (or Redis, or cache) only delays the work."""
    mark = wake_mark()
    if redis_client() is not None:
        send_later(
            lambda pipeline: pipeline.set(mark, 1, nx=True, ex=WAKE_PENDING_SECONDS),
            done=lambda results: results[0] and send(RELAY_TASK),
            failed=lambda: send(RELAY_TASK),  # wake, as before, without coalescing
        )
        return
    try:
        first = caches["default"].add(mark, 1, timeout=WAKE_PENDING_SECONDS)
    except Exception as error:  # the cache backend's own connection errors: wake, as before
        log.warning("cache unavailable, relay woken without coalescing: %s", error)
        first = True
    if first:
        send(RELAY_TASK)


def wake_taken() -> None:
    """Called by a relay run before it claims: a commit from now on wakes the relay again."""
    client = redis_client()
    try:
        if client is not None:
            client.delete(wake_mark())
        else:
            caches["default"].delete(wake_mark())
    except Exception as error:
        log.warning("redis or cache unavailable, relay wake mark left to expire: %s", error)


def wake_relay_on_commit() -> None:
    """wake_relay once the current transaction commits, asked for once per transaction however
    many events it writes: one relay run takes them all (an upload stored at once writes two).
    A hook registered in a savepoint that rolls back is dropped with it, and the next event
    registers its own; outside a transaction it wakes the relay at once, as on_commit does."""
    if connection.in_atomic_block and any(hook is wake_relay for _, hook, _ in connection.run_on_commit):
        return
    transaction.on_commit(wake_relay)
