"""Every admin action run as an operator runs it (the changelist's POST, as a superuser), and
`createsuperuser --noinput`, which the README tells operators to use."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from accounts.models import AuditEvent, User
from files.models import File
from files.outbox import relay as outbox
from projects.models import Webhook, WebhookAttempt, WebhookDelivery
from projects.webhooks import services as webhook_services
from projects.webhooks.outbox import DELIVER_TASK
from tests.factories import PASSWORD, UserFactory, make_file, make_webhook


@pytest.fixture
def staff(db) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def act(client, changelist, action, rows):
    response = client.post(changelist, {"action": action, "_selected_action": [str(row.pk) for row in rows]})
    assert response.status_code == 302 and response["Location"] == changelist
    return [str(message) for message in get_messages(response.wsgi_request)]


def announced(project, event: str) -> list[tuple[str, dict]]:
    """(file UUID, initiator) of each `event` webhook made for the project once the outbox is relayed."""
    outbox.outbox_relay()
    deliveries = WebhookDelivery.objects.filter(webhook__project=project, event_type=event).order_by("pk")
    return [(d.payload["data"]["uuid"], d.payload["initiator"]) for d in deliveries]


def by_admin(initiator: dict) -> bool:
    """Uploadcare's api initiator, with the admin as the door the change came in by."""
    detail = initiator["detail"]
    return initiator["type"] == "api" and detail["source"] == "admin" and detail["addon_name"] is None


def test_unsuspend_lets_the_person_sign_in_again(staff, team):
    account_services.user_suspend(user=team.member)
    account_services.user_suspend(user=team.viewer)

    notes = act(staff, "/admin/accounts/user/", "unsuspend", [team.member])

    assert notes == ["1 account(s) reactivated."]
    member, viewer = User.objects.get(pk=team.member.pk), User.objects.get(pk=team.viewer.pk)
    assert member.is_active and member.suspended_at is None
    assert not viewer.is_active and viewer.suspended_at is not None
    fresh = Client()
    fresh.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
    assert fresh.session["_auth_user_id"] == str(member.pk)


def test_unsuspending_does_not_bring_back_the_sessions_the_suspension_ended(staff, team):
    browser = Client()
    browser.post("/accounts/login/", {"login": team.member.email, "password": PASSWORD})
    overview = f"/projects/{team.project.pk}/"
    assert browser.get(overview).status_code == 200

    act(staff, "/admin/accounts/user/", "suspend", [team.member])
    act(staff, "/admin/accounts/user/", "unsuspend", [team.member])

    assert browser.get(overview).status_code == 302 and "_auth_user_id" not in browser.session


def test_store_action_stores_the_selected_files_only(staff, team, django_capture_on_commit_callbacks):
    make_webhook(team.project, event="file.stored")
    chosen, other = make_file(team.project, "a.txt", store=False), make_file(team.project, "b.txt", store=False)

    with django_capture_on_commit_callbacks(execute=True):
        notes = act(staff, "/admin/files/file/", "store", [chosen])

    assert notes == ["Files stored."]
    chosen.refresh_from_db(), other.refresh_from_db()
    assert chosen.datetime_stored is not None and other.datetime_stored is None
    # Stored as any other door stores: the file.stored webhook goes out, saying the admin did it.
    [(uuid, initiator)] = announced(team.project, "file.stored")
    assert uuid == str(chosen.uuid) and by_admin(initiator)


def test_delete_action_removes_rows_and_bytes(staff, team, django_capture_on_commit_callbacks):
    make_webhook(team.project, event="file.deleted")
    chosen, other = make_file(team.project, "a.txt"), make_file(team.project, "b.txt")
    assert default_storage.exists(chosen.storage_key)

    with django_capture_on_commit_callbacks(execute=True):
        notes = act(staff, "/admin/files/file/", "delete_files", [chosen])

    assert notes == ["Files deleted."]
    chosen, other = File.objects.get(pk=chosen.pk), File.objects.get(pk=other.pk)
    assert chosen.datetime_removed is not None and not default_storage.exists(chosen.storage_key)
    assert other.datetime_removed is None and default_storage.exists(other.storage_key)
    [(uuid, initiator)] = announced(team.project, "file.deleted")
    assert uuid == str(chosen.uuid) and by_admin(initiator)


def test_activate_action_turns_a_webhook_back_on(staff, team):
    off = webhook_services.webhook_create(
        project=team.project, target_url="https://hooks.example.com/a", event="file.uploaded", is_active=False
    )
    also_off = webhook_services.webhook_create(
        project=team.project, target_url="https://hooks.example.com/b", event="file.uploaded", is_active=False
    )

    notes = act(staff, "/admin/projects/webhook/", "activate", [off])

    assert notes == ["Webhooks activated."]
    assert Webhook.objects.get(pk=off.pk).is_active and not Webhook.objects.get(pk=also_off.pk).is_active


def test_deleting_webhooks_in_the_admin_removes_their_deliveries_and_is_audited(staff, team):
    webhook = make_webhook(team.project)
    kept = make_webhook(team.project, target_url="https://hooks.example.com/kept")
    delivery = WebhookDelivery.objects.create(webhook=webhook, event_type="file.uploaded", payload={"a": 1})
    WebhookAttempt.objects.create(delivery=delivery, status_code=200)
    changelist = "/admin/projects/webhook/"
    response = staff.post(
        changelist, {"action": "delete_selected", "_selected_action": [str(webhook.pk)], "post": "yes"}
    )
    assert response.status_code == 302 and response["Location"] == changelist
    assert list(Webhook.objects.all()) == [kept]
    assert not WebhookDelivery.objects.exists() and not WebhookAttempt.objects.exists()
    [event] = AuditEvent.objects.filter(action="webhook.deleted")
    assert event.project_id == team.project.pk and event.actor.is_superuser


def test_redeliver_action_queues_a_finished_delivery_again(
    staff, team, broker_queue, django_capture_on_commit_callbacks
):
    webhook = webhook_services.webhook_create(
        project=team.project, target_url="https://hooks.example.com/a", event="file.uploaded"
    )
    long_ago = timezone.now() - timedelta(days=2)
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event_type="file.uploaded",
        payload={"hook": {}},
        status=WebhookDelivery.Status.GAVE_UP,
        attempts=9,
        next_attempt_at=None,
        window_started_at=long_ago,
        dispatched_at=long_ago,
    )

    with django_capture_on_commit_callbacks(execute=True):
        notes = act(staff, "/admin/projects/webhookdelivery/", "redeliver", [delivery])

    assert notes == ["Redeliveries queued."]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.window_started_at > long_ago
    assert broker_queue.args(DELIVER_TASK) == [[delivery.pk]]
    assert delivery.dispatched_at > long_ago


def test_redeliver_refuses_a_turned_off_endpoint_and_says_why(staff, team):
    webhook = webhook_services.webhook_create(
        project=team.project, target_url="https://hooks.example.com/a", event="file.uploaded", is_active=False
    )
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event_type="file.uploaded", payload={}, status=WebhookDelivery.Status.FAILED
    )

    notes = act(staff, "/admin/projects/webhookdelivery/", "redeliver", [delivery])

    assert notes[0] == f"{delivery.delivery_uuid}: Turn the endpoint back on before redelivering."
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED


def test_createsuperuser_noinput_from_the_environment(db, monkeypatch):
    """As the README runs it: the account can sign in to the admin afterwards."""
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ops@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-l0ng-operator-passw0rd")
    call_command("createsuperuser", "--noinput", verbosity=0)

    user = User.objects.get(email="ops@example.com")
    assert user.is_superuser and user.is_staff and user.is_active
    client = Client()
    client.post("/admin/login/", {"username": "ops@example.com", "password": "a-l0ng-operator-passw0rd"})
    assert client.get("/admin/").status_code == 200
