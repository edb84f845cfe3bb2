"""Webhook delivery: payload, both signatures, retries, 410, disabling, the outbound guard, idempotence."""

import json
import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from werkzeug import Response

from billing.models import UsageDay
from files.models import Event
from files.services import file_upload
from projects.models import WebhookAttempt, WebhookDelivery
from projects.webhooks import services as webhook_services
from projects.webhooks.delivery import webhook_delivery_attempt, webhook_retry_delay
from projects.webhooks.outbox import deliveries_for_events, webhook_dispatch_due
from tests.helpers import wait_until
from tests.projects.webhooks.receiver import (
    SECRET,
    Receiver,
    make_due,
    only_delivery,
    standard_signature_valid,
    subscribe,
    uc_signature_valid,
    upload_and_relay,
)

Status = WebhookDelivery.Status
pytestmark = pytest.mark.usefixtures("webhooks_only")


# The outbox consumer and the payload


def test_each_event_makes_one_delivery_per_active_subscribed_endpoint(team):
    project = team.project
    uploaded = subscribe(project, "https://a.example.com/hook")
    subscribe(project, "https://b.example.com/hook", is_active=False)
    subscribe(project, "https://c.example.com/hook", event="file.deleted")
    subscribe(team.outsider.memberships.get().project, "https://d.example.com/hook")
    file = upload_and_relay(project)
    assert list(WebhookDelivery.objects.values_list("webhook", flat=True)) == [uploaded.pk]
    delivery = only_delivery(uploaded)
    assert delivery.event.type == "file.uploaded" and delivery.status == Status.PENDING
    payload = delivery.payload
    assert set(payload) == {"initiator", "hook", "data", "file"}
    assert payload["data"]["uuid"] == str(file.uuid) and payload["data"]["original_filename"] == "photo.txt"
    assert payload["file"] == payload["data"]["original_file_url"] and str(file.uuid) in payload["file"]
    assert payload["hook"] == {
        "id": uploaded.pk,
        "project_id": str(project.pk),
        "project_pub_key": project.public_key,
        "target": "https://a.example.com/hook",
        "event": "file.uploaded",
        "is_active": True,
        "version": "0.7",
        "created_at": payload["hook"]["created_at"],
        "updated_at": payload["hook"]["updated_at"],
    }
    assert payload["initiator"]["type"]


def test_deleted_file_payload_points_file_at_the_cdn_base(team):
    webhook = subscribe(team.project, "https://a.example.com/hook", event="file.deleted")
    event = Event.objects.create(
        project=team.project,
        type="file.deleted",
        file_uuid="6d6b3b52-6f3c-4f0b-9d4a-1f2e3d4c5b6a",
        payload={"uuid": "6d6b3b52-6f3c-4f0b-9d4a-1f2e3d4c5b6a", "original_file_url": None},
    )
    deliveries_for_events([event])
    assert only_delivery(webhook).payload["file"].endswith("/6d6b3b52-6f3c-4f0b-9d4a-1f2e3d4c5b6a/")


# Sending


def test_delivery_is_signed_both_ways_and_logged(team, receiver):
    webhook = subscribe(team.project, receiver.url)
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    [request] = receiver.requests
    assert request["uc_valid"] and request["standard_valid"]
    assert request["webhook_id"] == str(delivery.delivery_uuid)
    assert json.loads(request["body"]) == delivery.payload
    assert request["headers"]["Content-Type"] == "application/json"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (Status.SUCCEEDED, 1, None)
    assert delivery.delivered_at
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code == 200 and attempt.response_excerpt == "ok" and attempt.error == ""
    assert attempt.request_headers["webhook-id"] == str(delivery.delivery_uuid)
    assert attempt.request_body.encode() == request["body"]
    assert attempt.duration_ms >= 0
    assert UsageDay.objects.get(project=team.project).webhook_deliveries == 1


def test_without_a_secret_id_and_timestamp_are_still_sent(team, receiver):
    webhook = subscribe(team.project, receiver.url, secret="")
    upload_and_relay(team.project)
    webhook_delivery_attempt(delivery_id=only_delivery(webhook).pk)
    headers = receiver.requests[0]["headers"]
    assert headers["Webhook-Id"] and headers["Webhook-Timestamp"]
    assert "X-Uc-Signature" not in headers and "Webhook-Signature" not in headers


def test_after_rotation_both_secrets_sign_for_a_day(team, receiver):
    webhook = subscribe(team.project, receiver.url)
    webhook, new_secret = webhook_services.webhook_rotate_secret(webhook=webhook)
    assert new_secret != SECRET and len(new_secret) == 32
    upload_and_relay(team.project)
    webhook_delivery_attempt(delivery_id=only_delivery(webhook).pk)
    request = receiver.requests[0]
    assert standard_signature_valid(request["headers"], request["body"], SECRET)  # the old key still verifies
    assert standard_signature_valid(request["headers"], request["body"], new_secret)
    assert uc_signature_valid(request["body"], request["headers"]["X-Uc-Signature"], new_secret)
    assert len(request["headers"]["Webhook-Signature"].split(" ")) == 2


def test_running_the_delivery_task_twice_makes_one_attempt(team, receiver):
    webhook = subscribe(team.project, receiver.url)
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "not-due"
    assert len(receiver.requests) == 1 and WebhookAttempt.objects.count() == 1


def test_a_claimed_attempt_is_not_claimed_again_until_its_lease_ends(team, receiver, settings):
    webhook = subscribe(team.project, receiver.url)
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    # Another worker claimed it (and perhaps died): its lease moved the attempt into the future.
    lease_end = timezone.now() + timedelta(seconds=settings.FILEDOCK_WEBHOOK_CLAIM_SECONDS)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=lease_end)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "not-due"
    assert receiver.requests == []


def test_failure_is_retried_with_backoff_and_the_retry_logged(team, receiver):
    receiver.answers = [500]
    webhook = subscribe(team.project, receiver.url)
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    before = timezone.now()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and delivery.attempts == 1
    assert before + timedelta(seconds=4) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=11)
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 1

    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "not-due"  # not before its time
    make_due(delivery)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED and delivery.attempts == 2
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 200]
    assert receiver.ids == [str(delivery.delivery_uuid)] * 2  # the same webhook-id on the retry
    assert all(r["uc_valid"] and r["standard_valid"] for r in receiver.requests)
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0
    assert UsageDay.objects.get(project=team.project).webhook_deliveries == 2


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    for attempts in range(1, 30):
        full = min(6 * 3600, 10 * 2 ** (attempts - 1))
        delays = [webhook_retry_delay(attempts) for _ in range(20)]
        assert all(full / 2 <= d <= full for d in delays)
    assert len({webhook_retry_delay(3) for _ in range(20)}) > 1


def test_delivery_gives_up_when_the_retry_window_closes(team, receiver):
    receiver.answers = [503]
    webhook = subscribe(team.project, receiver.url)
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        window_started_at=timezone.now() - timedelta(days=3, seconds=1)
    )
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "gave-up"
    delivery.refresh_from_db()
    assert delivery.status == Status.GAVE_UP and delivery.next_attempt_at is None


def test_the_last_retry_is_scheduled_no_later_than_the_window_end(team, receiver):
    receiver.answers = [500]
    webhook = subscribe(team.project, receiver.url)
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    start = timezone.now() - timedelta(days=3) + timedelta(seconds=2)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(window_started_at=start, attempts=30)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and delivery.next_attempt_at <= start + timedelta(days=3)


def test_410_disables_the_endpoint_at_once(team, receiver, mailoutbox, django_capture_on_commit_callbacks):
    receiver.answers = [410]
    webhook = subscribe(team.project, receiver.url)
    upload_and_relay(team.project)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_delivery_attempt(delivery_id=only_delivery(webhook).pk) == "gone"
    webhook.refresh_from_db()
    assert not webhook.is_active and "410" in webhook.disabled_reason
    assert only_delivery(webhook).status == Status.FAILED
    assert [m.to for m in mailoutbox] == [[team.owner.email]]
    upload_and_relay(team.project, "second.txt")
    assert WebhookDelivery.objects.count() == 1  # a disabled endpoint gets no new deliveries


def test_consecutive_failures_disable_the_endpoint_and_email_the_owner(
    team, receiver, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.FILEDOCK_WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver.answers = [500] * 10
    webhook = subscribe(team.project, receiver.url)
    for i in range(3):
        upload_and_relay(team.project, f"{i}.txt")
    deliveries = list(WebhookDelivery.objects.order_by("id"))
    with django_capture_on_commit_callbacks(execute=True):
        for delivery in deliveries[:2]:
            webhook_delivery_attempt(delivery_id=delivery.pk)
        webhook.refresh_from_db()
        assert webhook.is_active and webhook.consecutive_failures == 2
        webhook_delivery_attempt(delivery_id=deliveries[2].pk)
    webhook.refresh_from_db()
    assert not webhook.is_active and webhook.disabled_reason == "3 delivery attempts in a row failed."
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [team.owner.email]
    assert webhook.target_url in mailoutbox[0].body and "disabled" in mailoutbox[0].subject

    # Pending retries of a disabled endpoint end without being sent.
    make_due(deliveries[0])
    assert webhook_delivery_attempt(delivery_id=deliveries[0].pk) == "endpoint-disabled"
    assert len(receiver.requests) == 3

    webhook_services.webhook_enable(webhook=webhook)
    webhook.refresh_from_db()
    assert webhook.is_active and webhook.consecutive_failures == 0 and webhook.disabled_reason == ""


def test_a_success_resets_the_failure_count(team, receiver):
    receiver.answers = [500, 500, 200]
    webhook = subscribe(team.project, receiver.url)
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    for _ in range(3):
        make_due(delivery)
        webhook_delivery_attempt(delivery_id=delivery.pk)
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0


def test_redirects_are_not_followed(team, httpserver):
    httpserver.expect_request("/moved", method="POST").respond_with_response(
        Response(status=302, headers={"Location": httpserver.url_for("/elsewhere")})
    )
    webhook = subscribe(team.project, httpserver.url_for("/moved"))
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "retry"
    assert [request.path for request, _ in httpserver.log] == ["/moved"]
    assert delivery.attempt_log.get().status_code == 302


def test_the_response_excerpt_is_capped_at_2_kb(team, httpserver):
    httpserver.expect_request("/big", method="POST").respond_with_data("x" * 100_000)
    webhook = subscribe(team.project, httpserver.url_for("/big"))
    upload_and_relay(team.project)
    webhook_delivery_attempt(delivery_id=only_delivery(webhook).pk)
    assert WebhookAttempt.objects.get().response_excerpt == "x" * 2048


def test_a_slow_receiver_times_out_and_is_retried(team, httpserver, settings):
    settings.FILEDOCK_WEBHOOK_TIMEOUT = 1

    answered, release = threading.Event(), threading.Event()

    def slow(request):
        release.wait(10)  # answers only once the test has seen the attempt time out
        answered.set()
        return Response("late")

    httpserver.expect_request("/slow", method="POST").respond_with_handler(slow)
    webhook = subscribe(team.project, httpserver.url_for("/slow"))
    upload_and_relay(team.project)
    assert webhook_delivery_attempt(delivery_id=only_delivery(webhook).pk) == "retry"
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error.startswith("Timed out")
    release.set()
    assert answered.wait(5)  # the shared test server answers one request at a time; let it finish this one


def test_connection_refused_is_a_failed_attempt(team):
    webhook = subscribe(team.project, "http://127.0.0.1:9/hook")  # discard port: nothing listens
    upload_and_relay(team.project)
    assert webhook_delivery_attempt(delivery_id=only_delivery(webhook).pk) == "retry"
    assert WebhookAttempt.objects.get().error.startswith("Connection error")


# Dispatching


def test_the_sweep_queues_due_deliveries_once_until_they_become_due_again(team, broker_queue):
    webhook = subscribe(team.project, "https://a.example.com/hook")
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    assert webhook_dispatch_due() == 1 and broker_queue.args("projects.tasks.deliver_webhook") == [[delivery.pk]]
    assert webhook_dispatch_due() == 0  # a message is on its way
    # A worker claimed it and died: once the lease ends, the sweep queues it again.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhook_dispatch_due() == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.SUCCEEDED)
    assert webhook_dispatch_due() == 0


def test_a_lost_message_is_queued_again_after_the_claim_period(team, settings, broker_queue):
    webhook = subscribe(team.project, "https://a.example.com/hook")
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    long_ago = timezone.now() - timedelta(seconds=settings.FILEDOCK_WEBHOOK_CLAIM_SECONDS + 1)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(dispatched_at=long_ago, next_attempt_at=long_ago)
    assert webhook_dispatch_due() == 1


def test_a_broker_outage_leaves_deliveries_for_the_sweep(team, broker_down):
    webhook = subscribe(team.project, "https://a.example.com/hook")
    upload_and_relay(team.project)
    assert webhook_dispatch_due() == 0
    assert only_delivery(webhook).dispatched_at is None


def test_redeliver_resends_with_the_same_webhook_id(team, receiver):
    webhook = subscribe(team.project, receiver.url)
    upload_and_relay(team.project)
    delivery = only_delivery(webhook)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    webhook_services.webhook_redeliver(delivery=delivery)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and receiver.ids == [str(delivery.delivery_uuid)] * 2


def test_a_test_event_carries_a_sample_file_and_is_sent_even_when_disabled(team, receiver):
    webhook = subscribe(team.project, receiver.url, event="file.stored", is_active=False)
    delivery = webhook_services.webhook_send_test(webhook=webhook)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    body = json.loads(receiver.requests[0]["body"])
    assert body["hook"]["event"] == "file.stored"
    assert body["initiator"] == {"type": "test", "detail": {"note": "Test event sent from the Filedock dashboard."}}
    assert body["data"]["mime_type"] == "image/jpeg" and body["data"]["content_info"]["image"]["width"] == 1200
    assert body["file"] == body["data"]["original_file_url"]
    assert receiver.requests[0]["uc_valid"] and receiver.requests[0]["standard_valid"]


def test_a_usage_alert_test_event_carries_a_sample_alert_and_no_file(team, receiver):
    webhook = subscribe(team.project, receiver.url, event="project.usage_alert")
    delivery = webhook_services.webhook_send_test(webhook=webhook)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    body = json.loads(receiver.requests[0]["body"])
    assert body["hook"]["event"] == "project.usage_alert" and body["initiator"]["type"] == "test"
    assert (body["data"]["quota"], body["data"]["threshold"], body["data"]["limit"]) == ("uploads", 80, 50_000)
    assert "file" not in body
    assert receiver.requests[0]["uc_valid"] and receiver.requests[0]["standard_valid"]


def test_a_failed_test_event_is_not_retried_and_does_not_count_against_the_endpoint(team, receiver):
    receiver.answers = [500]
    webhook = subscribe(team.project, receiver.url)
    delivery = webhook_services.webhook_send_test(webhook=webhook)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "failed"
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0


# End to end with a real worker on Redis


@pytest.mark.celery_worker
def test_an_upload_reaches_the_receiver_through_relay_and_worker(celery_worker, httpserver):
    from projects.services import project_create
    from tests.factories import UserFactory

    handler = Receiver()
    httpserver.expect_request("/e2e", method="POST").respond_with_handler(handler)
    project = project_create(owner=UserFactory(), name="e2e")
    webhook = subscribe(project, httpserver.url_for("/e2e"))
    file_upload(project=project, content=ContentFile(b"x", name="a.txt"), filename="a.txt", store=True)
    assert wait_until(lambda: WebhookDelivery.objects.filter(webhook=webhook, status=Status.SUCCEEDED).exists(), 20)
    assert len(handler.requests) == 1 and handler.requests[0]["standard_valid"] and handler.requests[0]["uc_valid"]
    assert handler.ids == [str(only_delivery(webhook).delivery_uuid)]
