"""Webhook subscriptions: validation, duplicates, unsubscribe, the secret at rest, the admin."""

import threading

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, transaction
from django.db.models import F

from accounts.models import AuditEvent
from projects.models import Webhook, WebhookAttempt, WebhookDelivery
from projects.webhooks import services as webhook_services
from tests.factories import UserFactory
from tests.helpers import blocked_on_a_lock, wait_until

URL = "https://hooks.example.com/filedock"


def create(project, **kwargs) -> Webhook:
    return webhook_services.webhook_create(project=project, **{"target_url": URL, "event": "file.uploaded", **kwargs})


def errors(exc_info) -> dict:
    return exc_info.value.message_dict


def test_create_stores_an_active_v07_subscription(team):
    webhook = create(team.project, signing_secret="s3cret")
    webhook.refresh_from_db()
    assert isinstance(webhook.pk, int)
    assert (webhook.target_url, webhook.event, webhook.is_active) == (URL, "file.uploaded", True)
    assert webhook.signing_secret == "s3cret" and webhook.version == "0.7"
    assert webhook.created and webhook.updated


def test_create_without_secret_stores_an_empty_one(team):
    assert create(team.project).signing_secret == ""


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://example.com/hook",
        "javascript:alert(1)",
        "//example.com/hook",
        "https://example.com/\x00",
        "https://example.com/" + "a" * 2000,
    ],
)
def test_only_http_and_https_urls_are_accepted(team, url):
    with pytest.raises(ValidationError) as exc_info:
        create(team.project, target_url=url)
    assert list(errors(exc_info)) == ["target_url"]
    assert not Webhook.objects.exists()


def test_plain_http_is_accepted(team):
    assert create(team.project, target_url="http://10.0.0.5:8080/hook").pk


@pytest.mark.parametrize("event", ["", "file.created", "FILE.UPLOADED", "*"])
def test_unknown_events_are_refused(team, event):
    with pytest.raises(ValidationError) as exc_info:
        create(team.project, event=event)
    assert list(errors(exc_info)) == ["event"]


def test_every_uploadcare_event_and_the_usage_alert_is_accepted(team):
    events = ["file.uploaded", "file.stored", "file.deleted", "file.info_updated", "file.infected"]
    for event in [*events, "project.usage_alert"]:
        create(team.project, event=event)
    assert team.project.webhooks.count() == 6


def test_signing_secret_longer_than_32_characters_is_refused(team):
    create(team.project, signing_secret="x" * 32)
    with pytest.raises(ValidationError) as exc_info:
        create(team.project, event="file.stored", signing_secret="x" * 33)
    assert list(errors(exc_info)) == ["signing_secret"]


def test_second_subscription_of_a_url_to_an_event_is_refused(team):
    create(team.project)
    with pytest.raises(ValidationError) as exc_info:
        create(team.project, is_active=False)
    assert errors(exc_info) == {NON_FIELD_ERRORS: ["This project is already subscribed on this event"]}
    assert team.project.webhooks.count() == 1


def test_same_url_may_subscribe_to_other_events_and_in_other_projects(team):
    create(team.project)
    create(team.project, event="file.stored")
    create(team.outsider.memberships.get().project)
    assert Webhook.objects.filter(target_url=URL).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_racing_duplicate_caught_by_the_database_is_a_validation_error(team):
    """Staged: the first subscription is saved but not committed when the second checks for
    twins (it sees none) and inserts; its insert waits on the unique index until the first
    commits, then fails, and that failure is the same validation error as the check's."""
    outcome = {}

    def second():
        try:
            with transaction.atomic():
                try:
                    create(team.project)
                except ValidationError as exc:
                    outcome["errors"] = exc.message_dict
                except BaseException as exc:
                    outcome["other"] = repr(exc)
                outcome["count"] = team.project.webhooks.count()  # the transaction is still usable
        finally:
            connection.close()

    with transaction.atomic():
        create(team.project)
        racer = threading.Thread(target=second)
        racer.start()
        assert wait_until(blocked_on_a_lock), f"the second insert never waited on the unique index: {outcome}"
    racer.join(10)
    assert outcome == {"errors": {NON_FIELD_ERRORS: [webhook_services.WEBHOOK_DUPLICATE]}, "count": 1}
    assert team.project.webhooks.count() == 1


def test_update_changes_only_the_given_fields(team):
    webhook = create(team.project, signing_secret="old")
    created, updated = webhook.created, webhook.updated
    webhook_services.webhook_update(webhook=webhook, is_active=False)
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.event, webhook.target_url, webhook.signing_secret) == (
        False,
        "file.uploaded",
        URL,
        "old",
    )
    assert webhook.created == created and webhook.updated > updated


def test_update_with_none_secret_clears_it(team):
    webhook = create(team.project, signing_secret="old")
    webhook_services.webhook_update(webhook=webhook, signing_secret=None)
    webhook.refresh_from_db()
    assert webhook.signing_secret == ""


def test_update_into_a_duplicate_is_refused_and_leaves_the_instance_unchanged(team):
    create(team.project)
    webhook = create(team.project, event="file.stored")
    with pytest.raises(ValidationError) as exc_info:
        webhook_services.webhook_update(webhook=webhook, event="file.uploaded")
    assert NON_FIELD_ERRORS in errors(exc_info)
    assert webhook.event == "file.stored"
    webhook.refresh_from_db()
    assert webhook.event == "file.stored"


def test_update_keeping_its_own_url_and_event_is_not_a_duplicate(team):
    webhook = create(team.project)
    webhook_services.webhook_update(webhook=webhook, target_url=URL, event="file.uploaded", is_active=False)
    assert not Webhook.objects.get(pk=webhook.pk).is_active


def test_update_refuses_unknown_fields(team):
    with pytest.raises(TypeError):
        webhook_services.webhook_update(webhook=create(team.project), project=None)


def test_delete(team):
    webhook_services.webhook_delete(webhook=create(team.project))
    assert not Webhook.objects.exists()


def test_unsubscribe_removes_the_url_from_every_event_of_this_project_only(team):
    elsewhere = team.outsider.memberships.get().project
    create(team.project)
    create(team.project, event="file.stored")
    other = create(team.project, target_url="https://other.example.com/")
    foreign = create(elsewhere)
    assert webhook_services.webhook_unsubscribe(project=team.project, target_url=URL) == 2
    assert set(Webhook.objects.values_list("pk", flat=True)) == {other.pk, foreign.pk}
    assert webhook_services.webhook_unsubscribe(project=team.project, target_url=URL) == 0
    # One entry in the project's log for the call that removed something, none for the one that did not.
    logged = AuditEvent.objects.filter(action="webhook.deleted")
    assert [(event.project, event.details) for event in logged] == [(team.project, {"target_url": URL, "count": 2})]


def test_signing_secret_is_encrypted_at_rest(team):
    webhook = create(team.project, signing_secret="plain-signing-secret")
    with connection.cursor() as cursor:
        cursor.execute("SELECT signing_secret FROM projects_webhook WHERE id = %s", [webhook.pk])
        stored = cursor.fetchone()[0]
    assert "plain-signing-secret" not in stored
    assert Webhook.objects.get(pk=webhook.pk).signing_secret == "plain-signing-secret"


@pytest.fixture
def staff_client(client, team):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_lists_and_searches_webhooks_without_the_secret(staff_client, team):
    webhook = create(team.project, signing_secret="admin-must-not-see")
    listing = staff_client.get("/admin/projects/webhook/?q=hooks.example")
    detail = staff_client.get(f"/admin/projects/webhook/{webhook.pk}/change/")
    assert listing.status_code == 200 and detail.status_code == 200
    assert URL in listing.content.decode()
    assert "admin-must-not-see" not in listing.content.decode() + detail.content.decode()


def test_admin_deactivate_action_goes_through_the_service(staff_client, team):
    webhook = create(team.project)
    staff_client.post("/admin/projects/webhook/", {"action": "deactivate", "_selected_action": [webhook.pk]})
    webhook.refresh_from_db()
    assert not webhook.is_active


def test_editing_an_endpoint_keeps_its_failure_record_until_it_is_turned_back_on(team):
    webhook = create(team.project)
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=3)
    webhook.refresh_from_db()
    webhook_services.webhook_update(webhook=webhook, is_active=True, target_url=URL + "/v2")  # on, stays on
    assert Webhook.objects.get(pk=webhook.pk).consecutive_failures == 3

    reason = "Turned off: the receiver answered 410 Gone."
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False, disabled_reason=reason)
    webhook.refresh_from_db()
    webhook_services.webhook_update(webhook=webhook, is_active=False, target_url=URL + "/v3")  # off, stays off
    stored = Webhook.objects.get(pk=webhook.pk)
    assert (stored.consecutive_failures, stored.disabled_reason, stored.target_url) == (3, reason, URL + "/v3")

    webhook_services.webhook_update(webhook=webhook, is_active=True)
    stored = Webhook.objects.get(pk=webhook.pk)
    assert (stored.is_active, stored.consecutive_failures, stored.disabled_reason) == (True, 0, "")


# Each refusal names its field with the message the REST API answers (the clients show it as is).
# Uploadcare's webhook events (docs: "Webhooks"), and Filedock's own usage alert.
EVENTS = ["file.uploaded", "file.stored", "file.deleted", "file.info_updated", "file.infected", "project.usage_alert"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("target_url", "https://example.com/" + "a" * 1981, "Ensure this URL has at most 2000 characters."),
        ("event", "file.nope", "Choose one of: " + ", ".join(EVENTS) + "."),
        ("is_active", "yes", "Must be true or false."),
        ("signing_secret", "s" * 33, "Use at most 32 characters."),
    ],
)
def test_each_refusal_names_its_field_and_says_why(team, field, value, message):
    with pytest.raises(ValidationError) as exc_info:
        create(team.project, **{field: value})
    assert errors(exc_info) == {field: [message]}
    assert not Webhook.objects.exists()


def test_a_url_of_exactly_2000_characters_and_a_secret_of_32_are_accepted(team):
    url = "https://example.com/" + "a" * 1980
    webhook = create(team.project, target_url=url, signing_secret="s" * 32)
    webhook.refresh_from_db()
    assert (len(webhook.target_url), webhook.signing_secret) == (2000, "s" * 32)


def test_disabling_keeps_the_reason_the_dashboard_shows(team):
    webhook = create(team.project)
    webhook_services.webhook_disable(webhook=webhook)
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.disabled_reason) == (False, "Turned off from the dashboard.")
    other = create(team.project, event="file.stored")
    webhook_services.webhook_disable(webhook=other, reason="Failed 20 times in a row.")
    other.refresh_from_db()
    assert other.disabled_reason == "Failed 20 times in a row."


def test_rotating_a_secret_where_there_was_none_leaves_no_old_one_signing(team):
    webhook = create(team.project)
    webhook, plain = webhook_services.webhook_rotate_secret(webhook=webhook)
    webhook.refresh_from_db()
    assert webhook.signing_secret == plain and plain
    assert (webhook.previous_signing_secret, webhook.previous_secret_expires_at) == ("", None)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_webhook_while_a_worker_saves_an_attempt_removes_both(team):
    """Staged: a worker has sent a delivery and recorded it (its attempt saved, the delivery marked
    succeeded), not yet committed, when the owner deletes the subscription. The delete waits for
    the worker, then removes the delivery with every attempt. (It used to remove the attempts it
    could see, wait on the delivery's row, and fail at commit on the worker's attempt: a 500 for
    the owner, found by the production stack test.)"""
    webhook = create(team.project)
    delivery = WebhookDelivery.objects.create(webhook=webhook, event_type="file.uploaded", payload={"a": 1})
    outcome = {}

    def delete():
        try:
            webhook_services.webhook_delete(webhook=Webhook.objects.get(pk=webhook.pk))
        except BaseException as exc:
            outcome["error"] = repr(exc)
        finally:
            connection.close()

    with transaction.atomic():
        # The worker's record of the attempt (projects.webhooks.delivery._record), in its transaction.
        WebhookAttempt.objects.create(delivery=delivery, status_code=200)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1, status="succeeded")
        deleter = threading.Thread(target=delete)
        deleter.start()
        assert wait_until(blocked_on_a_lock), "the delete never waited for the worker"
    deleter.join(30)
    assert outcome == {}
    assert not Webhook.objects.filter(pk=webhook.pk).exists()
    assert not WebhookDelivery.objects.exists() and not WebhookAttempt.objects.exists()
