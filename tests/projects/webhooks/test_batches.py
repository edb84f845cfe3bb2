"""Webhook delivery in batches: one task delivers many deliveries, sent at once."""

import threading
from http.server import ThreadingHTTPServer

import pytest
from django.core.files.base import ContentFile

from bench.harness import PostHandler
from billing.models import UsageDay
from files.outbox import relay as outbox
from files.services import file_upload
from projects.models import WebhookAttempt, WebhookDelivery
from tests.projects.webhooks.receiver import subscribe, upload_and_relay

Status = WebhookDelivery.Status
pytestmark = pytest.mark.usefixtures("webhooks_only")


def test_a_batch_delivers_each_of_its_deliveries_once(team, receiver):
    from projects.webhooks.delivery import webhook_deliveries_attempt

    webhook = subscribe(team.project, receiver.url)
    for i in range(5):
        upload_and_relay(team.project, f"{i}.txt")
    ids = list(WebhookDelivery.objects.filter(webhook=webhook).values_list("pk", flat=True))
    assert webhook_deliveries_attempt(delivery_ids=ids) == dict.fromkeys(ids, "succeeded")
    expected = {str(u) for u in WebhookDelivery.objects.values_list("delivery_uuid", flat=True)}
    assert sorted(receiver.ids) == sorted(expected) and len(expected) == 5
    assert all(r["uc_valid"] and r["standard_valid"] for r in receiver.requests)
    assert WebhookAttempt.objects.filter(status_code=200).count() == 5
    assert not WebhookDelivery.objects.exclude(status=Status.SUCCEEDED, attempts=1).exists()
    assert UsageDay.objects.get(project=team.project).webhook_deliveries == 5

    # The same task run again (a redelivered message) sends nothing.
    assert webhook_deliveries_attempt(delivery_ids=ids) == dict.fromkeys(ids, "not-due")
    assert len(receiver.requests) == 5 and WebhookAttempt.objects.count() == 5


def test_a_failing_target_does_not_hold_up_the_rest_of_its_batch(team, receiver):
    from projects.webhooks.delivery import webhook_deliveries_attempt

    good = subscribe(team.project, receiver.url)
    refused = subscribe(team.project, "http://127.0.0.1:9/hook")  # nothing listens
    for i in range(3):
        upload_and_relay(team.project, f"{i}.txt")
    ids = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))
    outcomes = webhook_deliveries_attempt(delivery_ids=ids)
    by_webhook = dict(WebhookDelivery.objects.values_list("pk", "webhook"))
    assert {outcomes[pk] for pk in ids if by_webhook[pk] == good.pk} == {"succeeded"}
    assert {outcomes[pk] for pk in ids if by_webhook[pk] == refused.pk} == {"retry"}
    assert len(receiver.requests) == 3
    refused.refresh_from_db()
    good.refresh_from_db()
    assert refused.consecutive_failures == 3 and good.consecutive_failures == 0


def test_failures_in_one_batch_count_towards_disabling(
    team, receiver, settings, mailoutbox, django_capture_on_commit_callbacks
):
    from projects.webhooks.delivery import webhook_deliveries_attempt

    settings.FILEDOCK_WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver.answers = [500] * 3
    webhook = subscribe(team.project, receiver.url)
    for i in range(3):
        upload_and_relay(team.project, f"{i}.txt")
    ids = list(WebhookDelivery.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        assert set(webhook_deliveries_attempt(delivery_ids=ids).values()) == {"retry"}
    webhook.refresh_from_db()
    assert not webhook.is_active and webhook.disabled_reason == "3 delivery attempts in a row failed."
    assert len(mailoutbox) == 1


def test_the_relay_queues_the_deliveries_of_many_events_in_batches(
    team, monkeypatch, django_capture_on_commit_callbacks, broker_queue
):
    from projects.webhooks import outbox as webhooks

    monkeypatch.setattr(webhooks, "DISPATCH_BATCH", 2)
    subscribe(team.project, "https://a.example.com/hook")
    for i in range(5):
        file_upload(project=team.project, content=ContentFile(b"x", name=f"{i}.txt"), filename=f"{i}.txt", store=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.outbox_relay() == 5
    ids = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))
    assert broker_queue.args("projects.tasks.deliver_webhook") == [
        ids[0:2],
        ids[2:4],
        ids[4:5],
    ]  # one message per batch, not one per event
    assert not WebhookDelivery.objects.filter(dispatched_at__isnull=True).exists()


def test_the_task_takes_many_ids_and_is_harmless_to_repeat(team, receiver):
    from projects.webhooks.tasks import deliver_webhook

    webhook = subscribe(team.project, receiver.url)
    for i in range(3):
        upload_and_relay(team.project, f"{i}.txt")
    ids = list(WebhookDelivery.objects.filter(webhook=webhook).values_list("pk", flat=True))
    assert set(deliver_webhook(*ids).values()) == {"succeeded"}
    assert set(deliver_webhook(*ids).values()) == {"not-due"}
    assert len(receiver.requests) == 3


class KeepAliveReceiver(PostHandler):
    """Answers 200 on an HTTP/1.1 connection it keeps open; counts the connections it accepted."""

    connections = 0

    def setup(self):
        type(self).connections += 1
        super().setup()


def test_the_next_batch_to_an_endpoint_reuses_the_connections_of_the_last(team):
    from projects.webhooks.delivery import webhook_deliveries_attempt

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAliveReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        webhook = subscribe(team.project, f"http://127.0.0.1:{server.server_port}/hook")
        for i in range(6):
            upload_and_relay(team.project, f"{i}.txt")
        ids = sorted(WebhookDelivery.objects.filter(webhook=webhook).values_list("pk", flat=True))
        # Batches of one: the task's own thread sends each (no helper threads, so no scheduling
        # decides how many connections open). Reused across batches, one connection serves all six.
        for pk in ids:
            assert webhook_deliveries_attempt(delivery_ids=[pk]) == {pk: "succeeded"}
        assert WebhookAttempt.objects.filter(status_code=200).count() == 6
        assert KeepAliveReceiver.connections == 1
    finally:
        server.shutdown()
        server.server_close()
