"""Usage alerts at the account's thresholds (once per period, by email, on the pages, by webhook)
and the owner's upload cap, refused through the real Upload API."""

import json
import os
from datetime import date

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import metering, services
from billing.models import UsageAlert, UsageAlertSettings
from billing.periods import month_bounds, today
from billing.quotas import check_upload
from files.models import Event, File
from files.outbox.relay import outbox_relay
from projects.models import Membership, Project, Role, WebhookDelivery
from projects.services import project_create, project_delete
from projects.webhooks.delivery import webhook_delivery_attempt
from tests.factories import UserFactory
from tests.helpers import Crew
from tests.projects.webhooks.receiver import subscribe

ALERTS = reverse("billing:alerts_save")
NOV_16 = date(2026, 11, 16)


@pytest.fixture
def account(plans):
    return UserFactory(email="payer@example.com")


def _form(**values) -> dict:
    data = dict.fromkeys(
        ["uploads", "api_calls", "webhook_deliveries", "traffic_bytes", "stored_bytes", "file_count"], "80, 100"
    )
    data["upload_cap_percent"] = ""
    data.update(values)
    return data


# The form


def test_the_account_sets_its_thresholds_and_cap(client, account):
    client.force_login(account)
    response = client.post(ALERTS, _form(uploads="100 50,80", stored_bytes="", upload_cap_percent="90"))
    assert response.status_code == 302 and response["Location"] == "/billing/#alerts"
    saved = UsageAlertSettings.objects.get(account=account)
    assert saved.thresholds["uploads"] == [50, 80, 100]
    assert saved.thresholds["stored_bytes"] == []  # empty: no alerts for storage
    assert saved.upload_cap_percent == 90

    page = client.get("/billing/").content.decode()
    assert 'name="uploads" value="50, 80, 100"' in page
    assert 'name="upload_cap_percent" value="90"' in page


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("uploads", "0, 80", "“0” is not a whole percent from 1 to 100."),
        ("api_calls", "101", "“101” is not a whole percent from 1 to 100."),
        ("traffic_bytes", "80, lots", "“lots” is not a whole percent from 1 to 100."),
        ("stored_bytes", "abc, 150, -3", "“abc”, “150”, “-3” are not whole percents from 1 to 100."),
        ("file_count", "10 20 30 40 50 60", "Enter at most 5 thresholds."),
        ("upload_cap_percent", "0", "Ensure this value is greater than or equal to 1."),
        ("upload_cap_percent", "150", "Ensure this value is less than or equal to 100."),
    ],
)
def test_bad_thresholds_are_shown_as_form_errors_and_nothing_is_saved(client, account, field, value, error):
    client.force_login(account)
    response = client.post(ALERTS, _form(**{field: value}))
    assert response.status_code == 302 and response["Location"] == "/billing/#alerts"  # PRG, errors kept
    page = client.get("/billing/").content.decode()
    assert f'<p class="error">{error}</p>' in page
    assert not UsageAlertSettings.objects.exists()


def test_the_settings_are_the_signed_in_accounts_own(client, team, plans):
    """Billing is per account: a project admin saving the form sets their own account's alerts,
    never the owner's of the project they collaborate on."""
    client.force_login(team.admin)
    client.post(ALERTS, _form(uploads="10"))
    assert UsageAlertSettings.objects.get().account == team.admin
    assert not UsageAlertSettings.objects.filter(account=team.owner).exists()


def test_anonymous_is_sent_to_sign_in_and_get_is_refused(client, account):
    response = client.post(ALERTS, _form())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(account)
    assert client.get(ALERTS).status_code == 405
    assert not UsageAlertSettings.objects.exists()


# Sending, once per period


def test_an_account_is_alerted_at_its_own_thresholds(account, django_capture_on_commit_callbacks):
    project = project_create(owner=account, name="Busy")
    services.usage_alert_settings_save(
        account=account, thresholds={"uploads": [50], "api_calls": []}, upload_cap_percent=None
    )
    metering.usage_add(project_id=project.pk, uploads=6, api_calls=10)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.usage_alerts_send(account=account) == [("uploads", 50)]
    [message] = mail.outbox
    assert message.subject.endswith("Your account is nearing the limits of the Free plan")
    assert "is nearing the limits of its Free plan" in message.body
    assert "- Uploads: 50 % reached, 6 of 10 this month" in message.body
    assert "API calls" not in message.body  # none set: no alert even at 100 %


def test_a_new_period_alerts_again_at_each_threshold(account, django_capture_on_commit_callbacks):
    project = project_create(owner=account, name="Busy")
    metering.usage_add(project_id=project.pk, uploads=9, day=NOV_16)
    metering.usage_add(project_id=project.pk, uploads=9, day=date(2026, 12, 2))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.usage_alerts_send(account=account, day=NOV_16) == [("uploads", 80)]
        assert services.usage_alerts_send(account=account, day=date(2026, 11, 30)) == []
        assert services.usage_alerts_send(account=account, day=date(2026, 12, 2)) == [("uploads", 80)]
    assert len(mail.outbox) == 2
    periods = UsageAlert.objects.order_by("period_start").values_list("period_start", "quota", "threshold")
    assert list(periods) == [(date(2026, 11, 1), "uploads", 80), (date(2026, 12, 1), "uploads", 80)]


def test_the_periodic_check_emails_every_owner_with_usage_in_the_month_it_checks(
    plans, django_capture_on_commit_callbacks
):
    busy = [UserFactory(email=f"busy{n}@example.com") for n in range(3)]
    for owner in busy:
        metering.usage_add(project_id=project_create(owner=owner, name="Busy").pk, uploads=9, day=NOV_16)
    gone = UserFactory(email="gone@example.com")
    deleted = project_create(owner=gone, name="Gone")
    metering.usage_add(project_id=deleted.pk, uploads=9, day=NOV_16)
    project_delete(project=deleted)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.usage_alerts_send_all(day=NOV_16, batch=2) == 3
        assert services.usage_alerts_send_all(day=NOV_16, batch=2) == 0
    assert sorted(message.to[0] for message in mail.outbox) == [owner.email for owner in busy]


@pytest.mark.django_db(transaction=True)
def test_two_workers_checking_at_once_send_one_email(plans):
    account = UserFactory(email="payer@example.com")
    project = project_create(owner=account, name="Busy")
    metering.usage_add(project_id=project.pk, uploads=10)
    results = []
    crew = Crew()
    crew.add(lambda: results.append(services.usage_alerts_send(account=account)), count=4)
    crew.run()
    assert sorted(results, key=len) == [[], [], [], [("uploads", 80), ("uploads", 100)]]
    assert len(mail.outbox) == 1
    assert UsageAlert.objects.count() == 2
    assert Event.objects.filter(type="project.usage_alert").count() == 2


def test_only_the_projects_the_account_owns_hear_of_its_alerts(team, plans):
    """Quotas are the owner's: a project the owner only helps on (as an admin) is another account's."""
    elsewhere = Project.objects.get(memberships__user=team.outsider)
    Membership.objects.create(project=elsewhere, user=team.owner, role=Role.ADMIN)
    metering.usage_add(project_id=team.project.pk, api_calls=10)
    services.usage_alerts_send(account=team.owner)
    alerted = Event.objects.filter(type="project.usage_alert").values_list("project_id", flat=True)
    assert sorted(alerted) == [team.project.pk, team.project.pk]  # at 80 and at 100 %


# On the pages


def test_the_banner_shows_this_periods_alerts_to_the_owner_only(
    client, team, plans, django_capture_on_commit_callbacks
):
    metering.usage_add(project_id=team.project.pk, uploads=8, api_calls=10)
    services.usage_alerts_send(account=team.owner)
    overview = reverse("projects:overview", args=[team.project.pk])

    client.force_login(team.owner)
    page = client.get(overview).content.decode()
    assert 'data-testid="usage-alerts"' in page
    assert "Your account reached its plan’s limits this month" in page
    assert "API calls 100 %, Uploads 80 %" in page
    billing = client.get("/billing/").content.decode()
    assert "API calls reached 100 %" in billing and "Uploads reached 80 %" in billing
    assert 'data-testid="quota-warning"' in billing and 'data-testid="quota-exceeded"' in billing

    # The admin does not pay for this project: neither the owner's alerts nor the admin's own
    # account's (about the projects they own) belong on it.
    UsageAlert.objects.create(account=team.admin, period_start=month_bounds(today())[0], quota="uploads", threshold=80)
    client.force_login(team.admin)
    assert 'data-testid="usage-alerts"' not in client.get(overview).content.decode()

    UsageAlert.objects.update(period_start=month_bounds(date(2026, 1, 5))[0])  # last period's alerts
    client.force_login(team.owner)
    assert 'data-testid="usage-alerts"' not in client.get(overview).content.decode()


def test_the_billing_page_warns_at_the_accounts_lowest_threshold(client, account):
    project = project_create(owner=account, name="Busy")
    metering.usage_add(project_id=project.pk, uploads=5)
    client.force_login(account)
    assert 'data-testid="quota-warning"' not in client.get("/billing/").content.decode()  # 50 % < 80 %
    services.usage_alert_settings_save(account=account, thresholds={"uploads": [50]}, upload_cap_percent=None)
    page = client.get("/billing/").content.decode()
    assert 'data-testid="quota-warning"' in page and "<strong>Uploads</strong>: 50 % used" in page


# The upload cap, through the real Upload API view


def _media_files() -> set[str]:
    found = set()
    for root, _, names in os.walk(settings.MEDIA_ROOT):
        found |= {os.path.join(root, name) for name in names}
    return found


def _upload(client, project, name="f.txt", jsonerrors=True):
    return client.post(
        "/upload/base/?jsonerrors=1" if jsonerrors else "/upload/base/",
        {"UPLOADCARE_PUB_KEY": project.public_key, "f": SimpleUploadedFile(name, b"x" * 10)},
    )


def test_a_capped_paid_account_is_refused_with_the_limits_error_and_nothing_written(
    client, team, plans, django_capture_on_commit_callbacks
):
    _on_paid_plan(team.owner, plans.business, uploads=100)
    metering.usage_add(project_id=team.project.pk, uploads=89)
    services.usage_alert_settings_save(account=team.owner, thresholds={}, upload_cap_percent=90)
    with django_capture_on_commit_callbacks(execute=True):  # the upload is counted after commit
        assert _upload(client, team.project).status_code == 200  # the 90th
    before, files = _media_files(), File.objects.count()

    refused = _upload(client, team.project, "over.txt", jsonerrors=False)
    assert (refused.status_code, refused.content) == (403, b"Account has reached its limits.")
    as_json = _upload(client, team.project, "over.txt")  # jsonerrors=1: a 200 carrying Uploadcare's error
    assert as_json.json()["error"] == {
        "status_code": 403,
        "content": "Account has reached its limits.",
        "error_code": "AccountLimitsExceededError",
    }
    assert File.objects.count() == files and not File.objects.filter(original_filename="over.txt").exists()
    assert _media_files() == before  # no bytes either
    assert metering_uploads(team.project) == 90


def test_an_uncapped_paid_account_uploads_to_the_plans_own_limit(client, team, plans):
    _on_paid_plan(team.owner, plans.business, uploads=100)
    metering.usage_add(project_id=team.project.pk, uploads=95)
    response = _upload(client, team.project)
    assert response.status_code == 200, response.content
    assert File.objects.filter(uuid=response.json()["f"]).exists()


def _on_paid_plan(account, plan, **quotas) -> None:
    for name, value in quotas.items():
        setattr(plan, name, value)
    plan.save()
    services.subscription_assign(subscription=services.subscription_ensure(account=account), plan=plan)


def test_the_cap_costs_the_upload_check_no_query(team, plans):
    """The cap is read with the owner's plan (one join), not by a second query per upload."""
    _on_paid_plan(team.owner, plans.business, uploads=100)
    for cap in (None, 90):  # with no settings row and with one
        if cap:
            services.usage_alert_settings_save(account=team.owner, thresholds={}, upload_cap_percent=cap)
        with CaptureQueriesContext(connection) as captured:
            check_upload(project=team.project, size=10)
        table = UsageAlertSettings._meta.db_table
        assert [q["sql"] for q in captured if f'FROM "{table}"' in q["sql"]] == []
        assert sum(f'JOIN "{table}"' in q["sql"] for q in captured) == 1


def metering_uploads(project) -> int:
    return project.usage_days.get(day=today()).uploads


# The webhook


@pytest.fixture
def webhooks_only(settings):
    settings.FILEDOCK_OUTBOX_CONSUMERS = ["projects.webhooks.outbox.deliveries_for_events"]


@pytest.mark.usefixtures("webhooks_only")
def test_the_alert_is_delivered_to_subscribed_endpoints_signed(
    team, plans, receiver, django_capture_on_commit_callbacks
):
    webhook = subscribe(team.project, receiver.url, event="project.usage_alert")
    subscribe(team.project, "https://files.example.com/hook")  # file.uploaded: hears nothing of it
    metering.usage_add(project_id=team.project.pk, api_calls=10)
    with django_capture_on_commit_callbacks(execute=True):
        services.usage_alerts_send(account=team.owner)
        outbox_relay()
    deliveries = WebhookDelivery.objects.order_by("pk")
    assert [(d.webhook_id, d.event_type) for d in deliveries] == [(webhook.pk, "project.usage_alert")] * 2
    alerted = Event.objects.filter(type="project.usage_alert").values_list("project_id", flat=True)
    assert set(alerted) == {team.project.pk}  # the outsider's own project hears nothing of this account
    for delivery in deliveries:
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    assert len(receiver.requests) == 2
    bodies = [json.loads(request["body"]) for request in receiver.requests]
    assert all(request["uc_valid"] and request["standard_valid"] for request in receiver.requests)
    assert sorted(body["data"]["threshold"] for body in bodies) == [80, 100]
    body = next(body for body in bodies if body["data"]["threshold"] == 100)
    assert body["data"] == {
        "quota": "api_calls",
        "label": "API calls",
        "threshold": 100,
        "used": 10,
        "limit": 10,
        "percent": 100,
        "monthly": True,
        "plan": "free",
        "period_start": month_bounds(today())[0].isoformat(),
    }
    assert body["hook"]["event"] == "project.usage_alert" and body["hook"]["project_id"] == str(team.project.pk)
    assert body["initiator"]["type"] == "system"
    assert "file" not in body
