"""Billing in Chromium: usage bars and daily charts, an upgrade, an invoice PDF download."""

import importlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps as global_apps
from django.utils import timezone
from playwright.sync_api import expect

from billing import services
from billing.models import Plan, Subscription, UsageDay
from billing.periods import month_bounds, today
from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
GiB = 1024**3


def _seed_month(projects) -> None:
    """A month of plausible usage: API calls near 85 % of Pro's million, storage growing daily."""
    start = month_bounds(today())[0]
    days = (today() - start).days + 1
    for index, project in enumerate(projects):
        share = (0.7, 0.3)[index]
        for n in range(days):
            wave = 1 + 0.45 * ((n * 7) % 5 - 2) / 2
            UsageDay.objects.create(
                project=project,
                day=start + timedelta(days=n),
                uploads=int(900 * share * wave),
                api_calls=int(850_000 / days * share * wave),
                webhook_deliveries=int(300 * share * wave),
                traffic_bytes=int(6 * GiB * share * wave),
                stored_bytes=int((20 + 1.2 * n) * GiB * share),
                file_count=int((4000 + 150 * n) * share),
                sampled_at=timezone.now() - timedelta(days=days - 1 - n, minutes=5),
            )


@pytest.mark.browser
def test_billing_usage_upgrade_and_invoice_pdf(page, live_server):
    importlib.import_module("billing.migrations.0002_default_plans").create_plans(global_apps, None)
    pro, business = Plan.objects.get(slug="pro"), Plan.objects.get(slug="business")
    user = UserFactory(email="billing@example.com")
    projects = [project_create(owner=user, name=name) for name in ("Storefront", "Mobile app")]
    _seed_month(projects)
    start, end = month_bounds(today())
    Subscription.objects.create(account=user, plan=pro, current_period_start=start, current_period_end=end)
    services.billing_details_save(
        account=user,
        name="Acme Trading GmbH",
        address_line1="Hauptstraße 5",
        postal_code="10115",
        city="Berlin",
        country="DE",
        vat_id="DE123456789",
    )
    previous = month_bounds(start - timedelta(days=1))[0]
    older = services.invoice_issue(account=user, period_start=previous, period_end=start, plan=pro)
    services.invoice_mark_paid(invoice=older)
    invoice = services.invoice_issue(account=user, period_start=start, period_end=end, plan=pro)

    sign_in(page, user)

    page.locator(".account-menu summary").click()
    page.get_by_role("link", name="Billing", exact=True).click()
    expect(page).to_have_url(re.compile(r"/billing/$"))
    expect(page.get_by_test_id("current-plan")).to_contain_text("Pro")
    chart = page.locator("[data-chart=api_calls] svg.chart-svg")
    expect(chart).to_be_visible()
    assert chart.locator("rect.chart-bar").count() == (today() - start).days + 1
    assert chart.bounding_box()["height"] > 60
    expect(page.get_by_test_id("quota-warning")).to_contain_text("API calls")
    expect(page.locator("[data-quota=api_calls]")).to_have_attribute("data-level", "warn")
    expect(page.get_by_test_id("project-usage")).to_contain_text("Storefront")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "billing.png"), full_page=True)

    page.get_by_role("link", name="Change plan").first.click()
    expect(page.get_by_test_id("proration-rule")).to_contain_text("pro rata")
    page.get_by_role("link", name="Upgrade to Business").click()
    charge = services.plan_change_preview(account=user, plan=business).charge_cents
    amount = services.format_money(charge, business.currency)
    expect(page.get_by_test_id("prorated-amount")).to_have_text(amount)
    page.screenshot(path=str(ARTIFACTS / "billing-upgrade-confirmation.png"), full_page=True)
    assert Subscription.objects.get(account=user).plan == pro  # nothing changes before the confirmation
    page.get_by_role("button", name=f"Upgrade and pay {amount}").click()
    expect(page.get_by_text("You are now on the Business plan.")).to_be_visible()
    expect(page.get_by_test_id("current-plan")).to_contain_text("Business")
    expect(page.get_by_test_id("upcoming")).to_contain_text("Upgrade from Pro to Business")
    assert Subscription.objects.get(account=user).plan == business

    row = page.get_by_test_id("invoice-list").locator("tr", has_text=invoice.number)
    with page.expect_download() as download_info:
        row.get_by_role("link", name="PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"invoice-{invoice.number}.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and f"({invoice.number}) Tj".encode() in pdf

    page.get_by_role("link", name=invoice.number).click()
    expect(page.get_by_test_id("invoice")).to_contain_text("Acme Trading GmbH")
    expect(page.get_by_test_id("invoice-total")).to_have_text("$29.00")
