"""The outbox relay: every event handed to every consumer exactly once, even with two relays."""

import threading
import uuid

import pytest
from django.db import connection

from files import services
from files.models import Event
from files.outbox import relay as outbox
from projects.services import project_create
from tests.factories import UserFactory, make_file
from tests.helpers import wait_until

SEEN: list[int] = []


def record(events):
    SEEN.extend(event.pk for event in events)


@pytest.fixture
def recorded(settings):
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["tests.files.outbox.test_relay.record"]
    SEEN.clear()
    yield SEEN
    SEEN.clear()


def test_relay_hands_each_event_once_in_order(db, recorded):
    project = project_create(owner=UserFactory(), name="p")
    file = make_file(project, store=False)
    services.file_delete(file=file)
    assert outbox.outbox_relay() == 2
    assert outbox.outbox_relay() == 0
    assert recorded == list(Event.objects.order_by("id").values_list("pk", flat=True))
    assert not Event.objects.filter(relayed_at__isnull=True).exists()


def test_a_failing_consumer_leaves_the_events_for_the_next_run(db, settings):
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["tests.files.outbox.test_relay.explode"]
    make_file(project_create(owner=UserFactory(), name="p"), store=False)
    with pytest.raises(RuntimeError):
        outbox.outbox_relay()
    assert Event.objects.filter(relayed_at__isnull=True).count() == 1


def explode(events):
    raise RuntimeError("consumer failed")


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_never_hand_an_event_twice(recorded):
    project = project_create(owner=UserFactory(), name="p")
    for i in range(60):
        make_file(project, f"{i}.txt", store=False)

    def relay():
        while outbox.outbox_relay(limit=5):
            pass
        connection.close()

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(recorded) == sorted(Event.objects.values_list("pk", flat=True))
    assert len(recorded) == len(set(recorded)) == 60


@pytest.mark.celery_worker
def test_commit_wakes_the_worker_which_relays(recorded, celery_worker):
    project = project_create(owner=UserFactory(), name="p")
    make_file(project, store=False)
    assert wait_until(lambda: not Event.objects.filter(relayed_at__isnull=True).exists())
    assert len(recorded) == 1


def test_events_of_a_project_deleted_meanwhile_are_relayed_to_nobody(db, settings):
    """Events have no database constraint on their project: any left over are relayed as no-ops."""
    from projects.models import WebhookDelivery
    from tests.projects.webhooks.receiver import subscribe

    settings.FILEDOCK_OUTBOX_CONSUMERS = [
        "projects.webhooks.outbox.deliveries_for_events",
        "files.storage.backups.jobs_for_events",
    ]
    subscribe(project_create(owner=UserFactory(), name="p"), "https://hooks.example.com/a", event="file.deleted")
    gone = uuid.uuid4()
    orphans = [
        Event.objects.create(project_id=gone, type=kind, file_uuid=uuid.uuid4())
        for kind in ("file.uploaded", "file.deleted")
    ]
    with connection.cursor() as cursor:  # a constraint would refuse them here, not at a commit
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert outbox.outbox_relay() == 2
    assert all(Event.objects.get(pk=event.pk).relayed_at for event in orphans)
    assert not WebhookDelivery.objects.exists()


def test_deleting_a_project_row_still_deletes_its_events(db):
    """No database constraint, but Django's CASCADE: the admin deleting a project takes its events."""
    project = project_create(owner=UserFactory(), name="p")
    make_file(project, store=False)
    other = project_create(owner=UserFactory(), name="q")
    make_file(other, store=False)
    project.delete()
    assert list(Event.objects.values_list("project_id", flat=True)) == [other.pk]


SORTING: list[str] = []


def record_sorting(events):
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_sort")
        SORTING.append(cursor.fetchone()[0])


def test_the_claim_walks_the_index_in_order_even_with_stale_statistics(db, settings):
    """Statistics taken on an empty table, then a burst of events: the claim reads `limit` events
    from event_unrelayed in order of id, not every unrelayed event sorted (each claim, a burst).
    Sorting is off for the claim only: the consumers' queries plan as usual."""
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["tests.files.outbox.test_relay.record_sorting"]
    SORTING.clear()
    project = project_create(owner=UserFactory(), name="p")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE files_event")
    Event.objects.bulk_create(
        [Event(project=project, type="file.deleted", file_uuid=uuid.uuid4()) for _ in range(5000)]
    )
    plans = []

    def explain_the_claim(execute, sql, params, many, context):
        if "FOR UPDATE" in sql and '"files_event"' in sql and not sql.startswith("EXPLAIN"):
            context["cursor"].execute("EXPLAIN " + sql, params)
            plans.append("\n".join(line for (line,) in context["cursor"].fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain_the_claim):
        assert outbox.outbox_relay(limit=100) == 100
    [plan] = plans
    assert "Index Scan using event_unrelayed" in plan and "Sort" not in plan, plan
    assert SORTING == ["on"]  # one call with the whole batch


def test_while_a_wake_up_waits_for_its_run_commits_send_no_other_and_its_run_takes_them(
    recorded, broker_queue, transactional_db
):
    """Wake-ups coalesce across requests: a run queued and not started yet relays what commits
    before it starts (it clears the mark before it claims), so no further message is sent; once it
    started, the next commit sends one again."""
    from files.outbox.tasks import relay_outbox

    project = project_create(owner=UserFactory(), name="p")
    first, second = make_file(project, "a.txt", store=False), make_file(project, "b.txt", store=False)
    assert broker_queue.args(outbox.RELAY_TASK) == [[]]  # the second upload found a run queued
    relay_outbox()  # the queued run
    assert recorded == list(Event.objects.order_by("id").values_list("pk", flat=True)) and len(recorded) == 2
    assert {first.uuid, second.uuid} == set(Event.objects.values_list("file_uuid", flat=True))
    make_file(project, "c.txt", store=False)
    assert broker_queue.args(outbox.RELAY_TASK) == [[], []]
    relay_outbox()
    assert len(recorded) == 3 and not Event.objects.filter(relayed_at__isnull=True).exists()


def test_a_lost_wake_up_holds_back_others_only_for_a_moment(recorded, broker_queue, transactional_db, settings):
    project = project_create(owner=UserFactory(), name="p")
    make_file(project, "a.txt", store=False)
    broker_queue.redis.delete(broker_queue.name)  # the message is lost; its mark stays
    make_file(project, "b.txt", store=False)
    assert broker_queue.args(outbox.RELAY_TASK) == []
    outbox.redis_client().delete(outbox.wake_mark())  # as its expiry, WAKE_PENDING_SECONDS later, does
    make_file(project, "c.txt", store=False)
    assert broker_queue.args(outbox.RELAY_TASK) == [[]]
    assert outbox.WAKE_PENDING_SECONDS <= 10
