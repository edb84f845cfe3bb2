import importlib

import pytest
from django.apps import apps as global_apps
from django.urls import reverse

from billing import metering, services
from billing.models import (
    BillingDetails,
    Invoice,
    InvoiceLine,
    Plan,
    Subscription,
    UsageAlert,
    UsageAlertSettings,
    UsageDay,
)
from billing.periods import month_bounds, today
from projects.services import project_create
from tests.factories import UserFactory

MODELS = [Plan, Subscription, BillingDetails, UsageDay, UsageAlert, UsageAlertSettings, Invoice]


@pytest.fixture
def admin_client(client, plans):
    client.force_login(UserFactory(email="staff@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def billed(plans):
    account = UserFactory(email="payer@example.com")
    project = project_create(owner=account, name="Paid")
    metering.usage_add(project_id=project.pk, uploads=1)
    services.billing_details_save(account=account, name="Acme", country="DE")
    services.subscription_change_plan(account=account, plan=plans.pro)
    start, end = month_bounds(today())
    invoice = services.invoice_issue(account=account, period_start=start, period_end=end, plan=plans.pro)
    UsageAlert.objects.create(account=account, period_start=start, quota="uploads")
    services.usage_alert_settings_save(account=account, thresholds={"uploads": [50]}, upload_cap_percent=90)
    return invoice


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_billing_model_has_a_working_admin(admin_client, billed, model):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"q": "payer"}).status_code == 200
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[model.objects.first().pk])
    assert admin_client.get(change).status_code == 200


def test_plans_are_editable_in_admin(admin_client, plans):
    url = reverse("admin:billing_plan_change", args=[plans.pro.pk])
    data = {
        "name": "Pro",
        "slug": "pro",
        "price_cents": 3900,
        "currency": "USD",
        "is_public": "on",
        "stored_bytes": "",
        "file_count": "",
        "max_file_size": "1000",
        "uploads": "",
        "api_calls": "",
        "webhook_deliveries": "",
        "traffic_bytes": "",
    }
    assert admin_client.post(url, data).status_code == 302
    plans.pro.refresh_from_db()
    assert (plans.pro.price_cents, plans.pro.max_file_size, plans.pro.stored_bytes) == (3900, 1000, None)


def test_the_mark_paid_action(admin_client, billed):
    response = admin_client.post(
        reverse("admin:billing_invoice_changelist"), {"action": "mark_paid", "_selected_action": [billed.pk]}
    )
    assert response.status_code == 302
    billed.refresh_from_db()
    assert billed.status == "paid" and billed.paid_at is not None


def test_the_void_action(admin_client, billed):
    admin_client.post(reverse("admin:billing_invoice_changelist"), {"action": "void", "_selected_action": [billed.pk]})
    billed.refresh_from_db()
    assert billed.status == "void"


def test_an_admin_plan_change_takes_effect_without_charges(admin_client, billed, plans):
    subscription = Subscription.objects.get(account=billed.account)
    url = reverse("admin:billing_subscription_change", args=[subscription.pk])
    lines = InvoiceLine.objects.count()
    assert admin_client.post(url, {"plan": plans.business.pk}).status_code == 302
    subscription.refresh_from_db()
    assert subscription.plan == plans.business
    assert InvoiceLine.objects.count() == lines


def test_the_data_migration_creates_a_default_free_plan_and_paid_plans(db):
    migration = importlib.import_module("billing.migrations.0002_default_plans")
    Plan.objects.all().delete()  # a transactional test may have flushed them already; start clean
    migration.create_plans(global_apps, None)
    migration.create_plans(global_apps, None)  # harmless to repeat

    plans = {p.slug: p for p in Plan.objects.all()}
    assert set(plans) == {"free", "pro", "business"}
    assert plans["free"].is_default and plans["free"].price_cents == 0
    assert plans["pro"].price_cents > 0 and plans["business"].price_cents > plans["pro"].price_cents
    assert all(p.is_public for p in plans.values())
    assert Plan.objects.filter(is_default=True).count() == 1


def test_an_admin_can_put_an_account_on_a_plan(admin_client, plans):
    account = UserFactory(email="vip@example.com")
    response = admin_client.post(
        reverse("admin:billing_subscription_add"), {"account": account.pk, "plan": plans.business.pk}
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get(account=account)
    assert subscription.plan == plans.business
    assert subscription.current_period_start == today().replace(day=1)
