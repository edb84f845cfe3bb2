"""Background jobs: how work is handed to Celery workers, claimed and retried.

The rules every job follows:
- A database row is the truth; a message only says "look at this row now". Each kind of job has
  a periodic sweep that sends the rows whose message was lost, so a send may fail (broker away):
  it is logged, never raised into the request or transaction that wanted it.
- Messages go out after the transaction that wrote their rows commits, never from inside it.
- A job is sent by its task name, so a service never imports the task module that calls it back.
- A worker claims its row with a conditional UPDATE before working; a row it does not get is not
  due, finished, or held by another worker whose lease has not run out. Running a task twice is
  harmless.
"""

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from celery import current_app, shared_task
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.db.models.sql import UpdateQuery
from django.utils import timezone

log = logging.getLogger(__name__)


def job(name: str, **options):
    """Declares a Celery task under a fixed name (queued messages and beat entries refer to it),
    acknowledged after it ran, so a worker that dies mid-task leaves the message to another."""
    return shared_task(name=name, acks_late=True, **options)


def send(name: str, *args, countdown: float | None = None) -> bool:
    """Queues the task now; with the broker away, logs and returns False (its sweep sends it later)."""
    try:
        current_app.send_task(name, args=args, countdown=countdown, retry=False)
    except Exception:
        log.warning("broker unavailable; a periodic sweep will run %s", name)
        return False
    return True


def send_batches(name: str, ids: Iterable, *, size: int = 1, countdown: float | None = None) -> list:
    """Queues one message per `size` ids, stopping at the first failure; returns the ids sent."""
    ids, sent = list(ids), []
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        if not send(name, *batch, countdown=countdown):
            break
        sent += batch
    return sent


def send_on_commit(name: str, *args, countdown: float | None = None) -> None:
    """Queues the task once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(send, name, *args, countdown=countdown))


def retry_delay(attempts: int, *, base: float, cap: float, jitter: bool = False) -> float:
    """Seconds to wait after the `attempts`-th failure: base, 2×base, 4×base, … up to cap.

    With jitter, half the delay is fixed and half random, so jobs that failed together (an
    endpoint or a bucket that was down) do not all come back at the same moment.
    """
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2) if jitter else delay


def claim(queryset, **changes) -> list:
    """Conditional UPDATE of the rows `queryset` matches, returning the primary keys it changed.

    The filter is the claim's condition (due, open, not leased); the changes take the row (a
    status, a lease end). Two workers claiming the same rows get disjoint sets: the database
    re-checks the condition on each row it locks. RETURNING: PostgreSQL, and SQLite >= 3.35.
    """
    model = queryset.model
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(changes)
    query.clear_select_clause()
    db = router.db_for_write(model)
    sql, params = query.get_compiler(db).as_sql()
    pk_column = connections[db].ops.quote_name(model._meta.pk.column)
    with transaction.atomic(using=db), connections[db].cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {pk_column}", params)
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class JobRows:
    """A kind of job kept as rows with `status`, `attempts` and `next_attempt_at`: how a worker
    takes one, puts it back for later, finishes it, and how the beat sweep finds lost ones.

    `waiting` rows are due at `next_attempt_at`; a `working` row's `next_attempt_at` is the end of
    its worker's lease (longer than the task's time limit), after which the job is due again: a
    worker that died mid-job leaves it to the sweep. `lease` is a timedelta or a callable giving
    one (read from settings at each claim).
    """

    task: str
    model: type
    waiting: str
    working: str
    lease: timedelta | Callable[[], timedelta]
    grace: timedelta  # a new job's own message is normally queued: the sweep re-sends it after this

    def take(self, pk) -> bool:
        """Claims the job for this worker until its lease ends, counting the attempt; False when it
        is not due, finished, or held by another worker whose lease has not run out."""
        now = timezone.now()
        lease = self.lease() if callable(self.lease) else self.lease
        return bool(
            claim(
                self.model.objects.filter(pk=pk, status__in=[self.waiting, self.working], next_attempt_at__lte=now),
                status=self.working,
                attempts=F("attempts") + 1,
                next_attempt_at=now + lease,
            )
        )

    def finish(self, pk, status: str, **fields) -> bool:
        """Ends the job as `status`; only while this worker holds it (a sweep or a cancel may have
        moved it on meanwhile). Returns whether it did."""
        return bool(self.model.objects.filter(pk=pk, status=self.working).update(status=status, **fields))

    def later(self, pk, delay: float, **fields) -> bool:
        """Puts the held job back to wait `delay` seconds, and queues its message for then."""
        changed = self.model.objects.filter(pk=pk, status=self.working).update(
            status=self.waiting, next_attempt_at=timezone.now() + timedelta(seconds=delay), **fields
        )
        if changed:
            send_on_commit(self.task, str(pk), countdown=delay)
        return bool(changed)

    def sweep(self, *, limit: int, queryset=None) -> int:
        """Re-sends due jobs whose message was lost or whose worker died (lease over), oldest
        first, at most `limit`; `queryset` narrows the rows. Returns how many it sent."""
        now = timezone.now()
        rows = self.model.objects.all() if queryset is None else queryset
        due = list(
            rows.filter(
                Q(status=self.waiting, next_attempt_at__lte=now - self.grace)
                | Q(status=self.waiting, attempts__gt=0, next_attempt_at__lte=now)
                | Q(status=self.working, next_attempt_at__lte=now)
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        return len(send_batches(self.task, [str(pk) for pk in due]))
