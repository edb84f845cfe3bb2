import re
from datetime import timedelta

import pytest
from django.urls import reverse

from billing import metering, services
from billing.models import BillingDetails, Invoice, Subscription
from billing.periods import month_bounds, today
from projects.services import project_create
from tests.factories import UserFactory, add_file

OVERVIEW = "/billing/"


@pytest.fixture
def owner(plans):
    return UserFactory(email="payer@example.com")


@pytest.fixture
def project(owner):
    return project_create(owner=owner, name="Photos")


def _invoice(account, plan):
    start, end = month_bounds(today())
    return services.invoice_issue(account=account, period_start=start, period_end=end, plan=plan)


def _assert_csp_clean(html: str):
    assert 'style="' not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, "inline script"


# The overview


def test_the_overview_shows_the_plan_bars_charts_projects_and_invoices(login, owner, project, plans):
    metering.usage_add(project_id=project.pk, uploads=3, api_calls=4, traffic_bytes=2000)
    metering.usage_add(project_id=project.pk, uploads=2, day=max(today() - timedelta(days=1), today().replace(day=1)))
    add_file(project, 250)
    invoice = _invoice(owner, plans.pro)

    response = login(owner).get(OVERVIEW)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="current-plan"' in html and "Free" in html
    for quota in ("uploads", "api_calls", "webhook_deliveries", "traffic_bytes", "stored_bytes", "file_count"):
        assert f'data-quota="{quota}"' in html
        assert f'data-chart="{quota}"' in html
    assert html.count('<svg class="bar"') == 6
    assert html.count('<svg class="chart-svg"') == 7  # and conversions, a counter without a limit
    assert '<rect class="chart-bar"' in html
    assert "5 this month" in html  # uploads over the month
    assert 'data-testid="project-usage"' in html and "Photos" in html
    assert invoice.number in html and reverse("billing:invoice_pdf", args=[invoice.number]) in html
    _assert_csp_clean(html)
    assert '<link rel="stylesheet" href="/static/css/billing.css">' in html


def test_the_account_menu_links_to_billing(login, owner, project):
    html = login(owner).get(reverse("projects:overview", args=[project.pk])).content.decode()
    assert f'href="{OVERVIEW}">Billing</a>' in html


def test_usage_at_80_percent_is_warned_about(login, owner, project):
    metering.usage_add(project_id=project.pk, api_calls=7)
    html = login(owner).get(OVERVIEW).content.decode()
    assert 'data-testid="quota-warning"' not in html

    metering.usage_add(project_id=project.pk, api_calls=1)
    html = login(owner).get(OVERVIEW).content.decode()
    assert 'data-testid="quota-warning"' in html
    assert "80 % used" in html
    assert 'data-quota="api_calls" data-level="warn"' in html
    assert 'data-testid="quota-exceeded"' not in html


def test_a_reached_limit_says_what_is_refused(login, owner, project):
    for _ in range(5):
        add_file(project, 10)
    html = login(owner).get(OVERVIEW).content.decode()
    assert 'data-testid="quota-exceeded"' in html
    assert 'data-quota="file_count" data-level="over"' in html
    assert "New uploads are refused until files are deleted." in html
    assert "Account has reached its limits." in html


def test_an_account_without_projects_sees_its_plan(login, plans):
    html = login(UserFactory()).get(OVERVIEW).content.decode()
    assert "You own no projects" in html
    assert "Free" in html and html.count('<svg class="chart-svg"') == 7


def test_collaborators_see_their_own_billing_not_the_owners(login, team, plans):
    metering.usage_add(project_id=team.project.pk, uploads=9)
    owner_html = login(team.owner).get(OVERVIEW).content.decode()
    assert ">Acme</a>" in owner_html.split('data-testid="project-usage"')[1]
    assert 'data-quota="uploads" data-level="warn"' in owner_html
    admin_html = login(team.admin).get(OVERVIEW).content.decode()
    assert 'data-testid="project-usage"' not in admin_html
    assert "You own no projects" in admin_html
    assert 'data-quota="uploads" data-level="ok"' in admin_html


# Access


@pytest.mark.parametrize("name", ["billing:overview", "billing:plan", "billing:details"])
def test_anonymous_visitors_are_sent_to_log_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", ["billing:invoice", "billing:invoice_pdf"])
def test_invoices_need_a_login(client, owner, plans, name):
    invoice = _invoice(owner, plans.pro)
    response = client.get(reverse(name, args=[invoice.number]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", ["billing:invoice", "billing:invoice_pdf"])
def test_another_accounts_invoice_is_not_found(login, team, plans, name):
    invoice = _invoice(team.owner, plans.pro)
    for persona in (team.admin, team.viewer, team.outsider):
        assert login(persona).get(reverse(name, args=[invoice.number])).status_code == 404
    assert login(team.owner).get(reverse(name, args=[invoice.number])).status_code == 200


def test_a_draft_invoice_is_not_shown(login, owner, plans):
    services.subscription_change_plan(account=owner, plan=plans.pro)
    draft = Invoice.objects.get(account=owner)
    draft.number = "FD-DRAFT"  # even if it had a number
    draft.save()
    assert login(owner).get(reverse("billing:invoice", args=["FD-DRAFT"])).status_code == 404
    html = login(owner).get(OVERVIEW).content.decode()
    assert 'data-testid="upcoming"' in html and "Upgrade from Free to Pro" in html


def _confirmed(account, slug: str) -> dict:
    """What a paid upgrade's confirmation page posts: the plan and the amount it stated."""
    plan = services.Plan.objects.get(slug=slug)
    return {"plan": slug, "charge": services.plan_change_preview(account=account, plan=plan).charge_cents}


def test_a_collaborator_changing_plan_changes_only_their_own(login, team, plans):
    login(team.admin).post(reverse("billing:plan"), _confirmed(team.admin, "business"))
    assert Subscription.objects.get(account=team.admin).plan == plans.business
    assert not Subscription.objects.filter(account=team.owner).exists()


# Changing plan


def test_the_plan_page_writes_down_the_proration_rule(login, owner):
    html = login(owner).get(reverse("billing:plan")).content.decode()
    assert "pro rata for the rest of the current month" in html
    assert "Downgrades take effect when the next month starts" in html
    assert html.count('class="card plan-card') == 3  # the hidden plan is not offered
    assert "Upgrade to Pro" in html and "Upgrade to Business" in html
    # The free plan's card names it once: its price reads "No charge", not "Free" again.
    free = html.split('data-plan="free"')[1].split("</section>")[0]
    assert free.count("Free") == 1 and '<p class="plan-price">No charge</p>' in free
    _assert_csp_clean(html)


def test_upgrading_from_the_page(login, owner, plans):
    response = login(owner).post(reverse("billing:plan"), _confirmed(owner, "pro"), follow=True)
    assert response.redirect_chain[-1][0] == OVERVIEW
    assert Subscription.objects.get(account=owner).plan == plans.pro
    html = response.content.decode()
    assert "You are now on the Pro plan." in html and "added to your next invoice" in html


def test_a_paid_upgrade_is_confirmed_on_a_page_stating_the_prorated_amount(login, owner, plans):
    client = login(owner)
    confirm = reverse("billing:plan_confirm", args=["pro"])
    assert f'href="{confirm}"' in client.get(reverse("billing:plan")).content.decode()

    # Posting the plan alone (an old form, a crafted request) charges nothing: it leads to the confirmation.
    response = client.post(reverse("billing:plan"), {"plan": "pro"})
    assert response.status_code == 302 and response["Location"] == confirm
    assert not Subscription.objects.filter(account=owner, plan=plans.pro).exists()

    start, end = month_bounds(today())
    charge = services.proration_cents(
        old_price=0, new_price=plans.pro.price_cents, period_start=start, period_end=end, day=today()
    )
    html = client.get(confirm).content.decode()
    amount = services.format_money(charge, plans.pro.currency)
    assert f'data-testid="prorated-amount">{amount}</strong>' in html
    assert f"{(end - today()).days} of {(end - start).days} days" in html
    assert f"Upgrade and pay {amount}" in html and f'name="charge" value="{charge}"' in html
    _assert_csp_clean(html)

    client.post(reverse("billing:plan"), {"plan": "pro", "charge": charge})
    assert Subscription.objects.get(account=owner).plan == plans.pro
    assert Invoice.objects.get(account=owner).lines.get().amount_cents == charge


def test_an_upgrade_whose_amount_changed_since_its_confirmation_is_not_made(login, owner, plans):
    client = login(owner)
    response = client.post(reverse("billing:plan"), {"plan": "pro", "charge": 1}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("billing:plan_confirm", args=["pro"])
    assert "The amount for the rest of the month has changed" in response.content.decode()
    assert not Subscription.objects.filter(account=owner, plan=plans.pro).exists()


def test_confirmation_pages_exist_only_for_paid_upgrades(login, owner, plans):
    client = login(owner)
    assert client.get(reverse("billing:plan_confirm", args=["free"]))["Location"] == reverse("billing:plan")
    assert client.get(reverse("billing:plan_confirm", args=["hidden"])).status_code == 404


def test_downgrading_from_the_page_is_scheduled(login, owner, plans):
    services.subscription_ensure(account=owner)
    Subscription.objects.filter(account=owner).update(plan=plans.pro)
    response = login(owner).post(reverse("billing:plan"), {"plan": "free"}, follow=True)
    subscription = Subscription.objects.get(account=owner)
    assert (subscription.plan, subscription.pending_plan) == (plans.pro, plans.free)
    html = response.content.decode()
    assert 'data-testid="pending-plan"' in html and "Moves to Free" in html
    assert "Keep Pro" in login(owner).get(reverse("billing:plan")).content.decode()


def test_a_plan_in_another_currency_is_refused_with_the_reason_on_the_page(login, owner, plans):
    services.subscription_assign(subscription=services.subscription_ensure(account=owner), plan=plans.pro)
    plans.business.currency = "EUR"
    plans.business.save()
    response = login(owner).post(reverse("billing:plan"), _confirmed(owner, "business"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("billing:plan")
    assert "Plans are billed in USD; this one is in EUR." in response.content.decode()
    assert Subscription.objects.get(account=owner).plan == plans.pro


@pytest.mark.parametrize("slug", ["hidden", "nope", ""])
def test_a_plan_that_is_not_offered_changes_nothing(login, owner, plans, slug):
    response = login(owner).post(reverse("billing:plan"), {"plan": slug}, follow=True)
    assert response.status_code == 200
    assert not Subscription.objects.filter(account=owner).exists()
    assert "Choose one of the plans below." in response.content.decode()


# Billing details


VALID = {
    "name": "Acme GmbH",
    "address_line1": "Hauptstr. 1",
    "postal_code": "10115",
    "city": "Berlin",
    "country": "de",
    "vat_id": "de 123.456.789",
    "email": "billing@acme.example",
}


def test_saving_billing_details(login, owner):
    response = login(owner).post(reverse("billing:details"), VALID)
    assert response.status_code == 302
    details = BillingDetails.objects.get(account=owner)
    assert (details.country, details.vat_id) == ("DE", "DE123456789")
    assert "Acme GmbH" in login(owner).get(OVERVIEW).content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"country": ""}, "country", "This field is required."),
        ({"country": "Germany"}, "country", "two-letter country code"),
        ({"name": "  "}, "name", "This field is required."),
        ({"vat_id": "123"}, "vat_id", "does not look like a VAT ID"),
        ({"vat_id": "DE12"}, "vat_id", None),  # valid: DE + 2 characters is the loose minimum
        ({"vat_id": "FR12345678901", "country": "DE"}, "vat_id", "from FR, but the country is DE"),
        ({"email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_invalid_billing_details_change_nothing(login, owner, changes, field, message):
    services.billing_details_save(account=owner, name="Before", country="NL", vat_id="NL123456789B01")
    response = login(owner).post(reverse("billing:details"), {**VALID, **changes}, follow=True)
    details = BillingDetails.objects.get(account=owner)
    if message is None:
        assert response.redirect_chain == [(OVERVIEW, 302)]
        return
    assert response.redirect_chain == [(reverse("billing:details"), 302)]  # a reload does not post again
    assert message in response.content.decode()
    assert (details.name, details.country, details.vat_id) == ("Before", "NL", "NL123456789B01")


def test_greek_vat_ids_start_with_el(login, owner):
    response = login(owner).post(reverse("billing:details"), {**VALID, "country": "GR", "vat_id": "EL123456789"})
    assert response.status_code == 302


# Invoices


def test_the_invoice_page_lists_lines_and_total(login, owner, plans):
    services.billing_details_save(account=owner, name="Acme GmbH", country="DE")
    invoice = _invoice(owner, plans.pro)
    html = login(owner).get(reverse("billing:invoice", args=[invoice.number])).content.decode()
    assert invoice.number in html
    assert "Pro plan" in html and "$29.00" in html and "Acme GmbH" in html
    assert reverse("billing:invoice_pdf", args=[invoice.number]) in html
    _assert_csp_clean(html)


def test_the_invoice_pdf_is_a_real_pdf_with_the_invoice_number(login, owner, plans):
    services.billing_details_save(account=owner, name="Acme GmbH", country="DE")
    invoice = _invoice(owner, plans.pro)
    response = login(owner).get(reverse("billing:invoice_pdf", args=[invoice.number]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="invoice-{invoice.number}.pdf"'
    pdf = response.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    # Page streams are uncompressed, so the drawn text is in the bytes as written.
    assert f"({invoice.number}) Tj".encode() in pdf
    assert b"(Acme GmbH) Tj" in pdf and b"($29.00) Tj" in pdf
    assert b"/Type /Page" in pdf


def test_invoices_carry_the_issuers_name_address_vat_number_and_payment_details(login, owner, plans, settings):
    settings.FILEDOCK_INVOICE_ISSUER = "Example Files Ltd\n1 Harbour Road\nDublin"
    settings.FILEDOCK_INVOICE_VAT_NUMBER = "IE1234567X"
    settings.FILEDOCK_INVOICE_PAYMENT_DETAILS = "IBAN IE00 BANK 0000 0000 0000 00\nQuote the invoice number."
    invoice = _invoice(owner, plans.pro)
    client = login(owner)
    html = client.get(reverse("billing:invoice", args=[invoice.number])).content.decode()
    assert '<p class="invoice-brand">Example Files Ltd</p>' in html and "1 Harbour Road<br>" in html
    assert "IE1234567X" in html
    assert invoice.status == "open" and "IBAN IE00 BANK 0000 0000 0000 00<br>Quote the invoice number." in html
    pdf = client.get(reverse("billing:invoice_pdf", args=[invoice.number])).content
    assert b"(Example Files Ltd) Tj" in pdf and b"(1 Harbour Road) Tj" in pdf and b"(VAT number IE1234567X) Tj" in pdf
