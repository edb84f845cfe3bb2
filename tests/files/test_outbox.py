"""The outbox relay: every event handed to every consumer exactly once, even with two relays."""

import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from files import outbox, services
from files.models import Event
from projects.services import project_create
from tests.conftest import wait_until
from tests.factories import UserFactory

SEEN: list[int] = []


def record(event):
    SEEN.append(event.pk)


@pytest.fixture
def recorded(settings):
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["tests.files.test_outbox.record"]
    SEEN.clear()
    yield SEEN
    SEEN.clear()


def upload(project, name="a.txt"):
    return services.file_upload(project=project, content=ContentFile(b"x", name=name), filename=name, store=True)


def test_relay_hands_each_event_once_in_order(db, recorded):
    project = project_create(owner=UserFactory(), name="p")
    file = upload(project)
    services.file_delete(file=file)
    assert outbox.outbox_relay() == 2
    assert outbox.outbox_relay() == 0
    assert recorded == list(Event.objects.order_by("id").values_list("pk", flat=True))
    assert not Event.objects.filter(relayed_at__isnull=True).exists()


def test_a_failing_consumer_leaves_the_events_for_the_next_run(db, settings):
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["tests.files.test_outbox.explode"]
    upload(project_create(owner=UserFactory(), name="p"))
    with pytest.raises(RuntimeError):
        outbox.outbox_relay()
    assert Event.objects.filter(relayed_at__isnull=True).count() == 1


def explode(event):
    raise RuntimeError("consumer failed")


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_never_hand_an_event_twice(recorded):
    project = project_create(owner=UserFactory(), name="p")
    for i in range(60):
        upload(project, f"{i}.txt")

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
    upload(project)
    assert wait_until(lambda: not Event.objects.filter(relayed_at__isnull=True).exists())
    assert len(recorded) == 1
