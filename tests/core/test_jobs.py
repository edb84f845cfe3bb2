"""core.jobs: the one way work reaches a worker (send by name, claim, retry delay, stable names)."""

import logging

import pytest
from django.conf import settings
from django.db.models import F

from config.celery import app
from core.jobs import claim, retry_delay, send, send_batches, send_on_commit
from files.models import FromUrlTask
from projects.services import project_create
from tests.factories import UserFactory

# The names queued messages and beat entries carry. A task renamed or moved without `name=`
# would leave queued messages nobody takes.
TASK_NAMES = {
    "billing.tasks.flush_usage",
    "billing.tasks.issue_invoices",
    "billing.tasks.sample_usage",
    "billing.tasks.send_usage_alerts",
    "files.tasks.analyse_media",
    "files.tasks.backfill_backups",
    "files.tasks.backup_file",
    "files.tasks.expire_temporary_files",
    "files.tasks.fetch_from_url",
    "files.tasks.prune_outbox",
    "files.tasks.relay_outbox",
    "files.tasks.requeue_from_url",
    "files.tasks.run_addon",
    "files.tasks.run_conversion",
    "files.tasks.sweep_abandoned_uploads",
    "files.tasks.sweep_addons",
    "files.tasks.sweep_backups",
    "files.tasks.sweep_conversions",
    "files.tasks.sweep_edge",
    "files.tasks.sweep_media",
    "files.tasks.sweep_orphan_blobs",
    "projects.tasks.deliver_webhook",
    "projects.tasks.dispatch_due_deliveries",
    "projects.tasks.drain_api_logs",
    "projects.tasks.purge_deleted_projects",
    "projects.tasks.purge_project",
}


def test_every_task_keeps_its_name_and_every_beat_entry_names_a_task():
    app.loader.import_default_modules()
    registered = {name for name in app.tasks if not name.startswith("celery.")}
    assert registered == TASK_NAMES
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= registered


def test_every_task_is_acknowledged_after_it_ran():
    app.loader.import_default_modules()
    assert all(app.tasks[name].acks_late for name in TASK_NAMES)


@pytest.fixture
def tasks(db):
    project = project_create(owner=UserFactory(), name="p")
    return [FromUrlTask.objects.create(project=project, source_url=f"http://a.example/{n}") for n in range(3)]


def test_claim_takes_the_matching_rows_once_and_returns_their_keys(tasks):
    waiting = FromUrlTask.objects.filter(status=FromUrlTask.Status.WAITING)
    first = claim(waiting.filter(pk__in=[tasks[0].pk, tasks[1].pk]), status=FromUrlTask.Status.PROGRESS)
    assert sorted(first) == sorted([tasks[0].pk, tasks[1].pk])
    assert claim(waiting, status=FromUrlTask.Status.PROGRESS) == [tasks[2].pk]  # the others are taken
    assert claim(waiting, status=FromUrlTask.Status.PROGRESS) == []
    assert set(FromUrlTask.objects.values_list("status", flat=True)) == {FromUrlTask.Status.PROGRESS}


def test_claim_applies_expressions_and_filters_across_relations(tasks):
    FromUrlTask.objects.update(done=1)
    claimed = claim(FromUrlTask.objects.filter(project__name="p", pk=tasks[0].pk), done=F("done") + 1, error="taken")
    assert claimed == [tasks[0].pk]
    tasks[0].refresh_from_db()
    assert (tasks[0].done, tasks[0].error) == (2, "taken")
    assert claim(FromUrlTask.objects.filter(project__name="elsewhere"), error="x") == []


def test_send_queues_by_name_on_the_real_broker(broker_queue):
    assert send("files.tasks.fetch_from_url", "token-1") is True
    assert broker_queue.messages() == [("files.tasks.fetch_from_url", ["token-1"])]


def test_send_batches_cuts_the_ids_into_messages(broker_queue):
    assert send_batches("projects.tasks.deliver_webhook", range(5), size=2) == [0, 1, 2, 3, 4]
    assert broker_queue.args("projects.tasks.deliver_webhook") == [[0, 1], [2, 3], [4]]


def test_a_broker_that_is_away_is_logged_not_raised(broker_down, caplog):
    caplog.set_level(logging.WARNING, logger="core.jobs")
    assert send("files.tasks.relay_outbox") is False
    assert send_batches("files.tasks.backup_file", [1, 2, 3]) == []  # stops at the first failure
    assert "a periodic sweep will run files.tasks.relay_outbox" in caplog.text


def test_send_on_commit_waits_for_the_commit(db, broker_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send_on_commit("files.tasks.relay_outbox")
    assert broker_queue.messages() == [] and len(callbacks) == 1
    callbacks[0]()
    assert broker_queue.messages() == [("files.tasks.relay_outbox", [])]


def test_retry_delay_doubles_up_to_the_cap():
    assert [retry_delay(n, base=30, cap=200) for n in range(1, 6)] == [30, 60, 120, 200, 200]
    assert retry_delay(0, base=30, cap=200) == 30


def test_retry_delay_with_jitter_keeps_half_and_spreads_the_rest():
    delays = [retry_delay(4, base=10, cap=1000, jitter=True) for _ in range(50)]
    assert all(40 <= delay <= 80 for delay in delays)
    assert len(set(delays)) > 1
