"""The outbox prune: relayed events past their retention go, in bounded batches; unrelayed ones stay."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone

from files.models import Event
from files.outbox import relay as outbox
from files.outbox.tasks import prune_outbox
from projects.models import Webhook, WebhookDelivery
from projects.services import project_create
from tests.factories import UserFactory


def event(project, *, days_old: float, relayed: bool) -> Event:
    created = timezone.now() - timedelta(days=days_old)
    return Event.objects.create(
        project=project, type=Event.Type.FILE_UPLOADED, created_at=created, relayed_at=created if relayed else None
    )


@pytest.fixture
def project(db):
    return project_create(owner=UserFactory(), name="p")


def test_old_relayed_events_go_recent_and_unrelayed_ones_stay(project, settings):
    settings.FILEDOCK_EVENT_RETENTION_DAYS = 7
    old = [event(project, days_old=8, relayed=True), event(project, days_old=30, relayed=True)]
    recent = event(project, days_old=6.9, relayed=True)
    unrelayed_old = event(project, days_old=365, relayed=False)
    unrelayed_new = event(project, days_old=0, relayed=False)

    assert outbox.outbox_prune() == 2
    assert set(Event.objects.values_list("pk", flat=True)) == {recent.pk, unrelayed_old.pk, unrelayed_new.pk}
    assert not Event.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert outbox.outbox_prune() == 0  # nothing left to do: a second run changes nothing


def test_the_retention_is_the_setting(project, settings):
    settings.FILEDOCK_EVENT_RETENTION_DAYS = 1
    kept, gone = event(project, days_old=0.5, relayed=True), event(project, days_old=2, relayed=True)
    assert outbox.outbox_prune() == 1
    assert list(Event.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Event.objects.filter(pk=gone.pk).exists()


def test_a_batch_deletes_at_most_its_limit_oldest_first(project):
    events = [event(project, days_old=10, relayed=True) for _ in range(5)]
    assert outbox.outbox_prune(limit=2) == 2
    assert list(Event.objects.order_by("pk").values_list("pk", flat=True)) == [e.pk for e in events[2:]]
    assert outbox.outbox_prune(limit=2) == 2
    assert outbox.outbox_prune(limit=2) == 1
    assert not Event.objects.exists()


def test_the_task_runs_batches_until_done_but_no_more_than_its_bound(project):
    for _ in range(9):
        event(project, days_old=10, relayed=True)
    assert prune_outbox(batch=2, batches=3) == 6  # three batches of two, then the run stops
    assert Event.objects.count() == 3
    assert prune_outbox(batch=2, batches=3) == 3  # the next run takes the rest, stopping at the short batch
    assert not Event.objects.exists()


def test_a_delivery_outlives_its_pruned_event(project):
    webhook = Webhook.objects.create(project=project, target_url="https://example.com/hook", event="file.uploaded")
    old = event(project, days_old=10, relayed=True)
    delivery = WebhookDelivery.objects.create(webhook=webhook, event=old, event_type=old.type, payload={"a": 1})
    assert outbox.outbox_prune() == 1
    delivery.refresh_from_db()
    assert delivery.event_id is None and delivery.payload == {"a": 1}


@pytest.mark.django_db(transaction=True)
def test_two_prunes_at_once_never_take_the_same_rows():
    project = project_create(owner=UserFactory(), name="p")
    events = [event(project, days_old=10, relayed=True) for _ in range(6)]
    locked, release = threading.Event(), threading.Event()

    def other_prune_holding_its_batch():
        # The first prune's batch stays locked (its transaction open) while the second one runs.
        with transaction.atomic():
            ids = list(
                Event.objects.select_for_update(skip_locked=True).order_by("id").values_list("pk", flat=True)[:3]
            )
            locked.set()
            release.wait(10)
            Event.objects.filter(pk__in=ids).delete()
        connection.close()

    thread = threading.Thread(target=other_prune_holding_its_batch)
    thread.start()
    assert locked.wait(10)
    try:
        assert outbox.outbox_prune() == 3  # the three the other holds are skipped, not waited for
        assert set(Event.objects.values_list("pk", flat=True)) == {e.pk for e in events[:3]}
    finally:
        release.set()
        thread.join()
    assert not Event.objects.exists()


def test_beat_runs_the_prune():
    entries = [entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()]
    assert outbox.PRUNE_TASK in entries
