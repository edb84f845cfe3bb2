from datetime import date

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import override_settings
from django.urls import reverse

from accounts.models import AuditEvent
from billing import metering, services, tasks
from billing.models import Invoice, InvoiceLine, Plan, Subscription, UsageAlert
from billing.money import format_money
from billing.periods import today
from billing.services import proration_cents, subscription_change_plan, subscription_renew
from projects.services import project_create
from tests.factories import UserFactory, make_plan

NOV_1, NOV_16, DEC_1, JAN_1 = date(2026, 11, 1), date(2026, 11, 16), date(2026, 12, 1), date(2027, 1, 1)


@pytest.fixture
def account(plans):
    return UserFactory(email="payer@example.com")


def _subscribe(account, plan, start=NOV_1, end=DEC_1) -> Subscription:
    return Subscription.objects.create(account=account, plan=plan, current_period_start=start, current_period_end=end)


# Proration


@pytest.mark.parametrize(
    ("old", "new", "day", "expected"),
    [
        (2900, 9900, date(2026, 11, 16), 3500),  # 15 of 30 days: half the difference
        (2900, 9900, date(2026, 11, 1), 7000),  # the first day: the whole difference
        (2900, 9900, date(2026, 11, 30), 233),  # the last day counts: 7000 / 30 = 233.33
        (0, 2900, date(2026, 10, 16), 1497),  # 16 of 31 days: 1496.77 rounds up
        (0, 3100, date(2026, 10, 31), 100),  # exactly one day of a 31-day month
        (0, 62, date(2026, 10, 31), 2),  # 62 / 31 = 2.0
        (0, 31 * 3 + 15, date(2026, 10, 31), 3),  # 108 / 31 = 3.48 rounds down
        (0, 31 * 3 + 16, date(2026, 10, 31), 4),  # 109 / 31 = 3.52 rounds up
    ],
)
def test_proration_is_the_price_difference_for_the_remaining_days(old, new, day, expected):
    start = day.replace(day=1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    assert proration_cents(old_price=old, new_price=new, period_start=start, period_end=end, day=day) == expected


def test_nothing_is_left_to_charge_on_or_after_the_periods_end():
    for day in (DEC_1, JAN_1):
        assert proration_cents(old_price=2900, new_price=9900, period_start=NOV_1, period_end=DEC_1, day=day) == 0


def test_half_a_cent_rounds_up():
    # 1 cent difference over 2 of 4 days = 0.5 → 1 (a made-up 4-day period isolates the rounding).
    assert (
        proration_cents(
            old_price=0, new_price=1, period_start=date(2026, 1, 1), period_end=date(2026, 1, 5), day=date(2026, 1, 3)
        )
        == 1
    )


# Plan changes


def test_an_upgrade_takes_effect_at_once_and_charges_the_rest_of_the_month_on_the_next_invoice(account, plans):
    _subscribe(account, plans.pro)
    change = subscription_change_plan(account=account, plan=plans.business, day=NOV_16)

    assert (change.kind, change.charge_cents) == ("upgrade", 3500)
    assert Subscription.objects.get(account=account).plan == plans.business
    draft = Invoice.objects.get(account=account)
    assert (draft.status, draft.period_start, draft.period_end) == ("draft", DEC_1, JAN_1)
    line = draft.lines.get()
    assert line.amount_cents == 3500
    assert "Upgrade from Pro to Business" in line.description and "15 of 30 days" in line.description


def test_a_first_upgrade_creates_the_subscription(account, plans):
    change = subscription_change_plan(account=account, plan=plans.pro, day=today())
    assert change.kind == "upgrade"
    subscription = Subscription.objects.get(account=account)
    assert subscription.plan == plans.pro
    assert subscription.current_period_start == today().replace(day=1)


def test_a_downgrade_waits_for_the_next_period(account, plans):
    _subscribe(account, plans.business)
    change = subscription_change_plan(account=account, plan=plans.pro, day=NOV_16)

    assert (change.kind, change.effective) == ("downgrade", DEC_1)
    subscription = Subscription.objects.get(account=account)
    assert (subscription.plan, subscription.pending_plan) == (plans.business, plans.pro)
    assert not InvoiceLine.objects.exists()  # nothing refunded

    subscription_renew(subscription=subscription, day=DEC_1)
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.pending_plan) == (plans.pro, None)
    assert Invoice.objects.get(account=account, period_start=DEC_1).total_cents == 2900


def test_choosing_the_current_plan_cancels_a_pending_downgrade(account, plans):
    _subscribe(account, plans.business)
    subscription_change_plan(account=account, plan=plans.free, day=NOV_16)
    change = subscription_change_plan(account=account, plan=plans.business, day=NOV_16)
    assert change.kind == "downgrade_cancelled"
    assert Subscription.objects.get(account=account).pending_plan is None


def test_an_upgrade_cancels_a_pending_downgrade(account, plans):
    _subscribe(account, plans.pro)
    subscription_change_plan(account=account, plan=plans.free, day=NOV_16)
    subscription_change_plan(account=account, plan=plans.business, day=NOV_16)
    subscription = Subscription.objects.get(account=account)
    assert (subscription.plan, subscription.pending_plan) == (plans.business, None)


def test_a_plan_that_is_not_offered_cannot_be_chosen(account, plans):
    _subscribe(account, plans.free)
    with pytest.raises(ValidationError):
        subscription_change_plan(account=account, plan=plans.hidden, day=NOV_16)
    assert Subscription.objects.get(account=account).plan == plans.free


def test_a_plan_in_another_currency_cannot_replace_a_paid_plan(account, plans):
    _subscribe(account, plans.pro)
    plans.business.currency = "EUR"
    plans.business.save()
    with pytest.raises(ValidationError):
        subscription_change_plan(account=account, plan=plans.business, day=NOV_16)


def test_a_plan_at_the_same_price_takes_effect_at_once_without_a_charge(account, plans):
    team = make_plan("team", plans.pro.price_cents)
    _subscribe(account, plans.pro)

    preview = services.plan_change_preview(account=account, plan=team, day=NOV_16)
    change = subscription_change_plan(account=account, plan=team, day=NOV_16)

    assert (preview.kind, preview.charge_cents, preview.effective) == ("switch", 0, NOV_16)
    assert (change.kind, change.charge_cents, change.effective) == ("switch", 0, NOV_16)
    subscription = Subscription.objects.get(account=account)
    assert (subscription.plan, subscription.pending_plan) == (team, None)
    assert not Invoice.objects.exists()
    logged = AuditEvent.objects.get(action="plan.changed", actor=account).details
    assert logged == {"from": "Pro", "to": "Team", "change": "switch", "starts": "2026-11-16"}


def test_an_upgrade_worth_less_than_half_a_cent_is_an_upgrade_that_charges_nothing(account, plans):
    # One cent a month more, on the last of 30 days: 1 × 1 / 30 = 0.03 cents, which rounds to 0.
    plus = make_plan("plus", plans.pro.price_cents + 1)
    _subscribe(account, plans.pro)
    last_day = date(2026, 11, 30)

    preview = services.plan_change_preview(account=account, plan=plus, day=last_day)
    change = subscription_change_plan(account=account, plan=plus, day=last_day)

    assert (preview.kind, preview.charge_cents) == ("upgrade", 0)
    assert (change.kind, change.charge_cents, change.effective) == ("upgrade", 0, last_day)
    assert Subscription.objects.get(account=account).plan == plus
    assert not Invoice.objects.exists()  # no draft for a line of nothing
    logged = AuditEvent.objects.get(action="plan.changed", actor=account).details
    assert logged == {"from": "Pro", "to": "Plus", "change": "upgrade", "charge": "$0.00", "starts": "2026-11-30"}


def test_with_no_plans_at_all_a_plan_change_tells_the_operator_to_create_one(account, plans):
    Plan.objects.all().delete()
    with pytest.raises(ImproperlyConfigured, match=r"^No billing plans exist; create one in admin\.$"):
        services.subscription_ensure(account=account)


# Invoices


def test_the_monthly_invoice_is_issued_once_per_account_and_period(account, plans):
    subscription = _subscribe(account, plans.pro)
    first = subscription_renew(subscription=subscription, day=DEC_1)
    again = subscription_renew(subscription=subscription, day=date(2026, 12, 2))
    services.subscriptions_renew_due(day=DEC_1)
    reissued = services.invoice_issue(account=account, period_start=DEC_1, period_end=JAN_1, plan=plans.pro)

    assert len(first) == 1 and again == []
    invoice = Invoice.objects.get(account=account)
    assert reissued == invoice
    assert invoice.lines.count() == 1
    assert (invoice.status, invoice.total_cents, invoice.currency) == ("open", 2900, "USD")
    assert invoice.number == f"FD-202612-{invoice.pk:06d}"
    assert invoice.issued_at is not None
    subscription.refresh_from_db()
    assert (subscription.current_period_start, subscription.current_period_end) == (DEC_1, JAN_1)


def test_the_invoice_carries_upgrade_charges_and_the_new_plans_fee(account, plans):
    subscription = _subscribe(account, plans.free)
    subscription_change_plan(account=account, plan=plans.pro, day=NOV_16)
    subscription_renew(subscription=subscription, day=DEC_1)

    invoice = Invoice.objects.get(account=account)
    amounts = [line.amount_cents for line in invoice.lines.all()]
    assert amounts == [1450, 2900]  # 15 of 30 days of Pro, then December in advance
    assert invoice.total_cents == 4350
    assert invoice.status == "open"


def test_a_free_account_gets_no_invoice(account, plans):
    subscription = _subscribe(account, plans.free)
    assert subscription_renew(subscription=subscription, day=DEC_1) == []
    assert not Invoice.objects.exists()


def test_a_month_on_the_free_plan_after_paid_months_issues_no_invoice(account, plans):
    """The renewal's count of invoices issued (the admin's "Renew" action reports it) leaves out
    the invoices of earlier months."""
    subscription = _subscribe(account, plans.pro, start=date(2026, 10, 1), end=NOV_1)
    november = subscription_renew(subscription=subscription, day=NOV_16)
    subscription_change_plan(account=account, plan=plans.free, day=NOV_16)

    assert subscription_renew(subscription=subscription, day=DEC_1) == []
    assert list(Invoice.objects.all()) == november
    assert (november[0].period_start, november[0].total_cents) == (NOV_1, 2900)


def test_months_missed_by_the_job_are_each_invoiced(account, plans):
    subscription = _subscribe(account, plans.pro)
    subscription_renew(subscription=subscription, day=date(2027, 1, 10))
    assert list(Invoice.objects.order_by("period_start").values_list("period_start", flat=True)) == [DEC_1, JAN_1]


def test_the_billing_details_are_copied_onto_the_invoice(account, plans):
    services.billing_details_save(
        account=account,
        name="Acme GmbH",
        address_line1="Hauptstr. 1",
        postal_code="10115",
        city="Berlin",
        country="de",
        vat_id="DE123456789",
    )
    subscription_renew(subscription=_subscribe(account, plans.pro), day=DEC_1)
    services.billing_details_save(account=account, name="Renamed", country="DE")

    bill_to = Invoice.objects.get(account=account).bill_to
    assert "Acme GmbH" in bill_to and "10115 Berlin" in bill_to and "VAT ID DE123456789" in bill_to
    assert bill_to.endswith("\npayer@example.com")  # no billing email: the account's

    services.billing_details_save(account=account, name="Acme GmbH", country="DE", email="invoices@acme.example")
    services.invoice_issue(account=account, period_start=JAN_1, period_end=date(2027, 2, 1), plan=plans.pro)
    assert Invoice.objects.get(account=account, period_start=JAN_1).bill_to.endswith("\ninvoices@acme.example")


def test_billing_details_of_a_name_and_a_country_alone_address_the_invoice_with_nothing_more(account, plans):
    services.billing_details_save(account=account, name=" Acme GmbH ", country="de")
    invoice = subscription_renew(subscription=_subscribe(account, plans.pro), day=DEC_1)[0]
    assert invoice.bill_to == "Acme GmbH\nDE\npayer@example.com"


def test_each_account_is_invoiced_on_its_own_invoice(account, plans):
    other = UserFactory(email="other@example.com")
    for payer in (account, other):  # each gets a draft for December with the upgrade's charge, the other's newer
        subscription_change_plan(account=payer, plan=plans.pro, day=NOV_16)
    services.invoice_issue(account=account, period_start=DEC_1, period_end=JAN_1, plan=plans.pro)

    mine, theirs = Invoice.objects.get(account=account), Invoice.objects.get(account=other)
    lines = [(line.quantity, line.unit_price_cents, line.amount_cents) for line in mine.lines.order_by("pk")]
    assert lines == [(1, 1450, 1450), (1, 2900, 2900)]
    assert [line.description for line in mine.lines.order_by("pk")] == [
        "Upgrade from Free to Pro, 15 of 30 days (Nov 16 – Nov 30, 2026)",
        "Pro plan, Dec 1 – Dec 31, 2026",
    ]
    assert (mine.status, mine.total_cents) == ("open", 4350)
    assert (theirs.status, theirs.lines.count()) == ("draft", 1)


class RecordingProvider:
    collected = []

    def collect(self, invoice):
        self.collected.append(invoice.number)


@override_settings(BILLING_PAYMENT_PROVIDER="tests.billing.test_services.RecordingProvider")
def test_an_issued_invoice_is_handed_to_the_payment_provider_after_commit(
    account, plans, django_capture_on_commit_callbacks
):
    RecordingProvider.collected = []
    with django_capture_on_commit_callbacks(execute=True):
        invoice = subscription_renew(subscription=_subscribe(account, plans.pro), day=DEC_1)[0]
    assert RecordingProvider.collected == [invoice.number]


def test_marking_an_invoice_paid(account, plans):
    invoice = subscription_renew(subscription=_subscribe(account, plans.pro), day=DEC_1)[0]
    services.invoice_mark_paid(invoice=invoice)
    assert invoice.status == "paid" and invoice.paid_at is not None
    paid_at = invoice.paid_at
    services.invoice_mark_paid(invoice=invoice)
    assert invoice.paid_at == paid_at


def test_a_void_invoice_cannot_be_marked_paid(account, plans):
    invoice = subscription_renew(subscription=_subscribe(account, plans.pro), day=DEC_1)[0]
    services.invoice_void(invoice=invoice)
    services.invoice_mark_paid(invoice=invoice)
    assert (invoice.status, invoice.paid_at) == ("void", None)


def test_a_paid_invoice_cannot_be_voided(account, plans):
    invoice = subscription_renew(subscription=_subscribe(account, plans.pro), day=DEC_1)[0]
    services.invoice_mark_paid(invoice=invoice)
    services.invoice_void(invoice=invoice)
    assert invoice.status == "paid" and invoice.paid_at is not None


def test_marking_one_invoice_paid_or_void_leaves_the_other_accounts_invoices_open(account, plans):
    others = [
        subscription_renew(subscription=_subscribe(UserFactory(email=f"other{n}@example.com"), plans.pro), day=DEC_1)[0]
        for n in range(2)
    ]
    mine = subscription_renew(subscription=_subscribe(account, plans.pro), day=DEC_1)[0]

    services.invoice_mark_paid(invoice=mine)
    services.invoice_void(invoice=others[0])

    statuses = dict(Invoice.objects.values_list("account__email", "status"))
    assert statuses == {"payer@example.com": "paid", "other0@example.com": "void", "other1@example.com": "open"}
    others[1].refresh_from_db()
    assert others[1].paid_at is None


def test_the_invoice_task_renews_due_subscriptions(account, plans):
    start = today().replace(day=1)
    last_month = date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
    _subscribe(account, plans.pro, start=last_month, end=start)
    assert tasks.issue_invoices() == 1
    assert tasks.issue_invoices() == 0
    assert Invoice.objects.get(account=account).period_start == start


# Usage emails


def test_the_email_at_each_threshold_goes_out_once_per_quota_and_period(
    account, plans, django_capture_on_commit_callbacks
):
    project = project_create(owner=account, name="Busy")
    metering.usage_add(project_id=project.pk, api_calls=10, uploads=8)
    with django_capture_on_commit_callbacks(execute=True):
        # The default thresholds, 80 and 100 %: uploads reached 80, API calls both.
        assert services.usage_alerts_send(account=account) == [("uploads", 80), ("api_calls", 80), ("api_calls", 100)]
        assert services.usage_alerts_send(account=account) == []
        assert tasks.send_usage_alerts() == 0

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["payer@example.com"]
    assert message.subject.endswith("Your account reached the limits of the Free plan")
    assert "- API calls: 100 % reached, 10 of 10 this month. REST API calls are refused until next month." in (
        message.body
    )
    assert "- Uploads: 80 % reached, 8 of 10 this month\n" in message.body  # no consequence before 100 %
    assert "API calls: 80 %" not in message.body  # the highest threshold of a quota only
    assert "Your Filedock account payer@example.com has reached the limits of its Free plan" in message.body
    assert f"See your usage: {settings.SITE_URL}{reverse('billing:overview')}\n" in message.body
    assert f"Change your plan: {settings.SITE_URL}{reverse('billing:plan')}\n" in message.body

    metering.usage_add(project_id=project.pk, uploads=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_usage_alerts() == 1
    assert len(mail.outbox) == 2 and "Uploads: 100 % reached, 10 of 10 this month" in mail.outbox[1].body
    assert "API calls" not in mail.outbox[1].body
    assert UsageAlert.objects.filter(account=account).count() == 4


def test_a_paid_account_is_alerted_against_its_own_plans_quotas(account, plans):
    _subscribe(account, plans.pro, start=today().replace(day=1), end=date(2099, 1, 1))
    project = project_create(owner=account, name="Busy")
    metering.usage_add(project_id=project.pk, uploads=9)  # 90 % of the free plan's 10, 0.9 % of pro's 1000
    assert services.usage_alerts_send(account=account) == []
    metering.usage_add(project_id=project.pk, uploads=800)
    assert services.usage_alerts_send(account=account) == [("uploads", 80)]


def test_the_email_comes_again_next_period(account, plans, django_capture_on_commit_callbacks):
    project = project_create(owner=account, name="Busy")
    metering.usage_add(project_id=project.pk, api_calls=10, day=NOV_16)
    metering.usage_add(project_id=project.pk, api_calls=10, day=date(2026, 12, 5))
    with django_capture_on_commit_callbacks(execute=True):
        services.usage_alerts_send(account=account, day=NOV_16)
        services.usage_alerts_send(account=account, day=date(2026, 11, 20))
        services.usage_alerts_send(account=account, day=date(2026, 12, 5))
    assert len(mail.outbox) == 2


# The preview on the confirmation page says what the change will do


@pytest.mark.parametrize(
    ("pending", "chosen", "day"),
    [
        (None, "pro", NOV_16),  # the current plan: unchanged
        ("free", "pro", NOV_16),  # the current plan again: the pending downgrade is cancelled
        ("free", "business", NOV_16),  # an upgrade, charged for the rest of November
        ("free", "pro", DEC_1),  # the period ended today: the downgrade took effect, so this is an upgrade
        ("free", "pro", date(2026, 12, 20)),  # and some days later
        (None, "free", DEC_1),  # a downgrade, from the next period on
    ],
)
def test_the_preview_matches_the_change_made(account, plans, pending, chosen, day):
    _subscribe(account, plans.pro)
    if pending:
        subscription_change_plan(account=account, plan=getattr(plans, pending), day=NOV_16)
    plan = getattr(plans, chosen)

    preview = services.plan_change_preview(account=account, plan=plan, day=day)
    change = subscription_change_plan(account=account, plan=plan, day=day)

    assert (preview.kind, preview.charge_cents, preview.effective) == (
        change.kind,
        change.charge_cents,
        change.effective,
    )
    assert preview.current == (plans.free if pending and day >= DEC_1 else plans.pro)
    assert preview.plan == change.plan == plan  # what the confirmation and the page's message name


def test_the_preview_of_an_upgrade_states_the_days_charged_and_the_day_the_next_invoice_is_issued(account, plans):
    _subscribe(account, plans.pro)
    preview = services.plan_change_preview(account=account, plan=plans.business, day=NOV_16)
    assert (preview.kind, preview.plan, preview.current) == ("upgrade", plans.business, plans.pro)
    assert (preview.charge_cents, preview.days, preview.period_days) == (3500, 15, 30)  # 7000 × 15 / 30
    assert (preview.effective, preview.period_end) == (NOV_16, DEC_1)


def test_the_invoice_job_renews_the_longest_due_first_into_the_month_it_is_run_for(account, plans):
    later = _subscribe(UserFactory(email="later@example.com"), plans.pro, start=date(2026, 10, 1), end=NOV_1)
    earlier = _subscribe(account, plans.pro, start=date(2026, 9, 1), end=date(2026, 10, 1))

    assert services.subscriptions_renew_due(day=date(2027, 3, 2), limit=1) == 1

    earlier.refresh_from_db()
    later.refresh_from_db()
    assert (earlier.current_period_start, later.current_period_start) == (date(2027, 3, 1), date(2026, 10, 1))


def test_each_plan_change_is_in_the_account_log_with_what_it_charges_and_when_it_starts(account, plans):
    upgrade = subscription_change_plan(account=account, plan=plans.pro, day=NOV_16)  # no subscription yet
    subscription_change_plan(account=account, plan=plans.free, day=NOV_16)
    subscription_change_plan(account=account, plan=plans.pro, day=NOV_16)

    assert Subscription.objects.get(account=account).current_period_start == NOV_1  # the month of the change
    recorded = AuditEvent.objects.filter(action="plan.changed", actor=account).order_by("pk")
    assert [event.details for event in recorded] == [
        {
            "from": "Free",
            "to": "Pro",
            "change": "upgrade",
            "charge": format_money(upgrade.charge_cents, plans.pro.currency),
            "starts": NOV_16.isoformat(),
        },
        {"from": "Pro", "to": "Free", "change": "downgrade", "starts": DEC_1.isoformat()},
        {"from": "Pro", "to": "Pro", "change": "downgrade_cancelled", "cancelled": "Free"},
    ]
    assert upgrade.charge_cents == 1450
