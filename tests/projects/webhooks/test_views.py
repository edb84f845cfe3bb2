"""The Webhooks pages: admins manage endpoints, secrets are shown once, the log and its buttons."""

import pytest
from django.urls import reverse

from projects.models import Webhook, WebhookAttempt, WebhookDelivery
from projects.webhooks import services as webhook_services

URL = "https://hooks.example.com/filedock"


def url(name, team, *args):
    return reverse(f"projects:{name}", args=[team.project.pk, *args])


def hook(team, **kwargs) -> Webhook:
    return webhook_services.webhook_create(
        project=team.project, **{"target_url": URL, "event": "file.uploaded", "signing_secret": "s3cret", **kwargs}
    )


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_only_admins_see_the_webhooks_page(team, login, persona):
    assert login(team.user(persona)).get(url("webhooks", team)).status_code == 403


@pytest.mark.parametrize("persona", ["owner", "admin"])
def test_admins_see_the_sidebar_link(team, login, persona):
    response = login(team.user(persona)).get(url("overview", team))
    assert url("webhooks", team).encode() in response.content


def test_members_do_not_see_the_sidebar_link(team, login):
    response = login(team.member).get(url("overview", team))
    assert url("webhooks", team).encode() not in response.content


def test_create_generates_a_secret_shown_once(team, login):
    client = login(team.admin)
    response = client.post(url("webhook_create", team), {"target_url": URL, "event": "file.stored", "is_active": "on"})
    webhook = Webhook.objects.get()
    assert response.status_code == 302 and response["Location"] == url("webhook_detail", team, webhook.pk)
    assert (webhook.event, webhook.is_active, len(webhook.signing_secret)) == ("file.stored", True, 32)
    page = client.get(response["Location"])
    assert webhook.signing_secret in page.content.decode() and page["Cache-Control"] == "no-store"
    assert webhook.signing_secret not in client.get(response["Location"]).content.decode()
    assert webhook.signing_secret not in client.get(url("webhooks", team)).content.decode()


def test_the_dashboard_subscribes_to_every_event_uploadcare_sends(team, login):
    # Uploadcare's webhook events (its docs' list), file.infected included: the malware scan sends it.
    events = ["file.uploaded", "file.stored", "file.deleted", "file.info_updated", "file.infected"]
    client = login(team.admin)
    page = client.get(url("webhooks", team)).content.decode()
    for event in events:
        assert f'<option value="{event}"' in page
        target = f"https://{event.replace('.', '-').replace('_', '-')}.example.com/hook"
        assert client.post(url("webhook_create", team), {"target_url": target, "event": event}).status_code == 302
    assert sorted(Webhook.objects.values_list("event", flat=True)) == sorted(events)


def test_create_refuses_a_duplicate_and_a_bad_url(team, login):
    hook(team)
    client = login(team.owner)
    response = client.post(url("webhook_create", team), {"target_url": URL, "event": "file.uploaded"}, follow=True)
    assert response.redirect_chain == [(url("webhooks", team), 302)]
    assert "already subscribed" in response.content.decode()
    response = client.post(
        url("webhook_create", team), {"target_url": "ftp://x.example.com/", "event": "file.uploaded"}, follow=True
    )
    assert response.redirect_chain == [(url("webhooks", team), 302)]
    assert "ftp://x.example.com/" in response.content.decode() and Webhook.objects.count() == 1


def test_edit_changes_url_and_event(team, login):
    webhook = hook(team)
    response = login(team.admin).post(
        url("webhook_update", team, webhook.pk), {"target_url": "https://new.example.com/h", "event": "file.deleted"}
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.target_url, webhook.event, webhook.is_active) == ("https://new.example.com/h", "file.deleted", True)


def test_delete_removes_the_endpoint(team, login):
    webhook = hook(team)
    assert login(team.admin).post(url("webhook_delete", team, webhook.pk)).status_code == 302
    assert not Webhook.objects.exists()


def test_rotate_shows_the_new_secret_once_and_keeps_the_old_for_a_day(team, login):
    webhook = hook(team)
    client = login(team.owner)
    response = client.post(url("webhook_rotate_secret", team, webhook.pk))
    webhook.refresh_from_db()
    assert webhook.signing_secret != "s3cret" and webhook.previous_signing_secret == "s3cret"
    assert webhook.signing_secret in client.get(response["Location"]).content.decode()


def test_disable_and_reenable(team, login):
    webhook = hook(team)
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=7)
    client = login(team.admin)
    client.post(url("webhook_disable", team, webhook.pk))
    webhook.refresh_from_db()
    assert not webhook.is_active and webhook.disabled_reason
    page = client.get(url("webhooks", team)).content.decode()
    assert "disabled" in page and webhook.disabled_reason in page
    client.post(url("webhook_enable", team, webhook.pk))
    webhook.refresh_from_db()
    assert webhook.is_active and webhook.consecutive_failures == 0 and not webhook.disabled_reason


def test_send_test_event_queues_a_test_delivery(team, login, django_capture_on_commit_callbacks, broker_queue):
    webhook = hook(team, event="file.info_updated")
    with django_capture_on_commit_callbacks(execute=True):
        response = login(team.admin).post(url("webhook_send_test", team, webhook.pk))
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get()
    assert delivery.is_test and delivery.event_type == "file.info_updated"
    assert broker_queue.args("projects.tasks.deliver_webhook") == [[delivery.pk]]


def test_the_log_shows_attempts_and_redeliver_requeues(team, login, django_capture_on_commit_callbacks, broker_queue):
    webhook = hook(team)
    delivery = webhook.deliveries.create(
        event_type="file.uploaded",
        payload={"data": {"uuid": "u"}},
        status=WebhookDelivery.Status.FAILED,
        attempts=1,
        next_attempt_at=None,
    )
    WebhookAttempt.objects.create(
        delivery=delivery,
        status_code=500,
        duration_ms=123,
        request_headers={"webhook-id": str(delivery.delivery_uuid)},
        request_body='{"data":{"uuid":"u"}}',
        response_excerpt="boom from receiver",
    )
    client = login(team.admin)
    page = client.get(url("webhook_detail", team, webhook.pk)).content.decode()
    for text in ["HTTP 500", "123 ms", "boom from receiver", str(delivery.delivery_uuid), "Redeliver"]:
        assert text in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("webhook_redeliver", team, webhook.pk, delivery.delivery_uuid))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.dispatched_at is not None


def test_redeliver_on_a_disabled_endpoint_asks_to_enable_it_first(team, login):
    webhook = hook(team, is_active=False)
    delivery = webhook.deliveries.create(event_type="file.uploaded", payload={}, status=WebhookDelivery.Status.FAILED)
    response = login(team.admin).post(url("webhook_redeliver", team, webhook.pk, delivery.delivery_uuid), follow=True)
    assert "Turn the endpoint back on" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED


def test_another_projects_webhook_is_404(team, login):
    foreign = webhook_services.webhook_create(
        project=team.outsider.memberships.get().project, target_url=URL, event="file.uploaded"
    )
    client = login(team.owner)
    assert client.get(url("webhook_detail", team, foreign.pk)).status_code == 404
    assert client.post(url("webhook_delete", team, foreign.pk)).status_code == 404
    delivery = foreign.deliveries.create(event_type="file.uploaded", payload={})
    own = hook(team)
    assert client.post(url("webhook_redeliver", team, own.pk, delivery.delivery_uuid)).status_code == 404
    assert Webhook.objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize(
    "name",
    [
        "webhook_create",
        "webhook_delete",
        "webhook_rotate_secret",
        "webhook_enable",
        "webhook_disable",
        "webhook_send_test",
        "webhook_update",
    ],
)
def test_changing_views_are_post_only(team, login, name):
    args = [] if name == "webhook_create" else [hook(team).pk]
    assert login(team.owner).get(url(name, team, *args)).status_code == 405


def test_a_failed_test_event_says_it_is_sent_once(team, login):
    """The list promises three days of retries; a test event is the exception, and says so."""
    webhook = hook(team)
    failed = {"event_type": "file.uploaded", "status": WebhookDelivery.Status.FAILED, "attempts": 1}
    webhook.deliveries.create(is_test=True, payload={"data": {}}, **failed)
    client = login(team.admin)
    assert "test events are sent once" in client.get(url("webhooks", team)).content.decode()
    page = client.get(url("webhook_detail", team, webhook.pk)).content.decode()
    assert page.count('data-testid="sent-once"') == 1
    webhook.deliveries.update(is_test=False)  # a real event that failed for good is not "sent once"
    page = client.get(url("webhook_detail", team, webhook.pk)).content.decode()
    assert 'data-testid="sent-once"' not in page
