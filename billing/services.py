"""Every change to subscriptions, billing details, invoices and usage alerts goes through these functions.

Plan changes and proration
--------------------------
Billing periods are calendar months (UTC). A plan's price is invoiced in advance, on the invoice
issued when the period starts.

* **Upgrade** (a more expensive plan): takes effect at once. The difference in monthly price is
  charged pro rata for the rest of the current period, today included:
  ``(new price − old price) × remaining days ÷ days in the period``, rounded half up to the cent,
  as a line item on the next invoice. A pending downgrade is cancelled.
* **Downgrade** (a cheaper plan): takes effect when the next period starts; the current period
  keeps the current plan and nothing is refunded. Choosing the current plan again cancels it.
* **Same price**: the switch takes effect at once, with no charge.

When a downgrade takes effect and usage is above the new plan's quotas, nothing is deleted: new
uploads (and API calls) are refused until usage fits.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from billing.models import BillingDetails, Invoice, InvoiceLine, Plan, Subscription, UsageAlert, UsageAlertSettings
from billing.money import format_money
from billing.periods import month_bounds, today
from billing.providers import get_provider
from billing.quotas import QuotaUsage, account_usage, default_plan
from files.models import Event
from projects.models import Project

PRORATION_RULE = (
    "Upgrades take effect at once: the difference in monthly price is charged pro rata for the rest "
    "of the current month, today included, as a line on your next invoice. Downgrades take effect "
    "when the next month starts; the current month is not refunded. Plans are billed monthly in advance."
)


def _span(start: date, end: date) -> str:
    """'Nov 14 – Nov 30, 2026' for [start, end)."""
    return f"{date_format(start, 'M j')} – {date_format(end - timedelta(days=1), 'M j, Y')}"


# Subscriptions


def subscription_for(account) -> Subscription:
    """The account's subscription; an unsaved one on the default plan if it never had one. Writes nothing."""
    try:
        return Subscription.objects.select_related("plan", "pending_plan").get(account=account)
    except Subscription.DoesNotExist:
        start, end = month_bounds(today())
        return Subscription(account=account, plan=default_plan(), current_period_start=start, current_period_end=end)


def subscription_ensure(*, account, day: date | None = None) -> Subscription:
    """Returns the account's subscription, creating it on the default plan for the current month."""
    start, end = month_bounds(day or today())
    plan = default_plan()
    if plan.pk is None:
        raise ImproperlyConfigured("No billing plans exist; create one in admin.")
    subscription, _ = Subscription.objects.get_or_create(
        account=account, defaults={"plan": plan, "current_period_start": start, "current_period_end": end}
    )
    return subscription


def subscription_renew(*, subscription: Subscription, day: date | None = None) -> list[Invoice]:
    """Moves a subscription whose period ended into the month of `day`, one month at a time.

    At each new period a pending downgrade takes effect and that period's invoice is issued.
    Returns the invoices issued. Safe to re-run: a current subscription is left alone.
    """
    day = day or today()
    issued = []
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan", "pending_plan", "account")
            .get(pk=subscription.pk)
        )
        while subscription.current_period_end <= day:
            start, end = month_bounds(subscription.current_period_end)
            if subscription.pending_plan_id:
                subscription.plan = subscription.pending_plan
                subscription.pending_plan = None
            subscription.current_period_start, subscription.current_period_end = start, end
            subscription.save(update_fields=["plan", "pending_plan", "current_period_start", "current_period_end"])
            invoice = invoice_issue(
                account=subscription.account, period_start=start, period_end=end, plan=subscription.plan
            )
            if invoice is not None:
                issued.append(invoice)
    return issued


def proration_cents(*, old_price: int, new_price: int, period_start: date, period_end: date, day: date) -> int:
    """The upgrade charge for the rest of the period, `day` included, rounded half up to the cent."""
    period_days = (period_end - period_start).days
    remaining = max(0, min(period_days, (period_end - day).days))
    amount = Decimal(new_price - old_price) * remaining / period_days
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class PlanChange:
    kind: str  # "upgrade", "downgrade", "switch", "downgrade_cancelled" or "unchanged"
    plan: Plan
    charge_cents: int = 0
    effective: date | None = None
    # What a paid upgrade's confirmation states: the plan left, and the part of the period charged.
    current: Plan | None = None
    days: int = 0
    period_days: int = 0
    period_end: date | None = None


def plan_change_preview(*, account, plan: Plan, day: date | None = None) -> PlanChange:
    """What subscription_change_plan(account, plan, day) would do, and charge, under the same rules;
    writes nothing."""
    day = day or today()
    subscription = subscription_for(account)
    current = subscription.plan
    start, end = subscription.current_period_start, subscription.current_period_end
    if end <= day:  # the change renews the subscription into the month of `day` first
        start, end = month_bounds(day)
        current = subscription.pending_plan or current
    if plan.pk == current.pk:
        kind = "downgrade_cancelled" if subscription.pending_plan_id else "unchanged"
        return PlanChange(kind, plan, current=current)
    if plan.price_cents < current.price_cents:
        return PlanChange("downgrade", plan, effective=end, current=current)
    charge = 0
    if plan.price_cents > current.price_cents:
        charge = proration_cents(
            old_price=current.price_cents, new_price=plan.price_cents, period_start=start, period_end=end, day=day
        )
    return PlanChange(
        "upgrade" if plan.price_cents > current.price_cents else "switch",
        plan,
        charge_cents=charge,
        effective=day,
        current=current,
        days=(end - day).days,
        period_days=(end - start).days,
        period_end=end,
    )


def subscription_change_plan(*, account, plan: Plan, day: date | None = None) -> PlanChange:
    """Moves the account to `plan` under the proration rules in this module's docstring.

    Writes the subscription, for an upgrade a proration line on the next period's draft invoice,
    and an audit event. Raises ValidationError for a plan that is not offered or is in another currency.
    """
    day = day or today()
    subscription = subscription_ensure(account=account, day=day)
    subscription_renew(subscription=subscription, day=day)
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update(of=("self",)).select_related("plan").get(pk=subscription.pk)
        )
        current = subscription.plan
        if plan.pk == current.pk:
            if subscription.pending_plan_id:
                cancelled = subscription.pending_plan.name
                subscription.pending_plan = None
                subscription.save(update_fields=["pending_plan"])
                return _plan_audited(account, current, PlanChange("downgrade_cancelled", plan), cancelled=cancelled)
            return PlanChange("unchanged", plan)
        if not plan.is_public:
            raise ValidationError("This plan is not available.")
        if current.price_cents and plan.currency != current.currency:
            raise ValidationError(f"Plans are billed in {current.currency}; this one is in {plan.currency}.")
        if plan.price_cents < current.price_cents:
            subscription.pending_plan = plan
            subscription.save(update_fields=["pending_plan"])
            return _plan_audited(
                account, current, PlanChange("downgrade", plan, effective=subscription.current_period_end)
            )
        charge = 0
        if plan.price_cents > current.price_cents:
            start, end = subscription.current_period_start, subscription.current_period_end
            charge = proration_cents(
                old_price=current.price_cents, new_price=plan.price_cents, period_start=start, period_end=end, day=day
            )
            if charge:
                next_start, next_end = month_bounds(end)
                invoice = _invoice_draft(
                    account=account, period_start=next_start, period_end=next_end, currency=plan.currency
                )
                days = (end - day).days
                InvoiceLine.objects.create(
                    invoice=invoice,
                    quantity=1,
                    unit_price_cents=charge,
                    amount_cents=charge,
                    description=f"Upgrade from {current} to {plan}, {days} of {(end - start).days} days "
                    f"({_span(day, end)})",
                )
        subscription.plan = plan
        subscription.pending_plan = None
        subscription.save(update_fields=["plan", "pending_plan"])
        change = PlanChange(
            "upgrade" if charge or plan.price_cents > current.price_cents else "switch",
            plan,
            charge_cents=charge,
            effective=day,
        )
        return _plan_audited(account, current, change)


def _plan_audited(account, current: Plan, change: PlanChange, **extra) -> PlanChange:
    details = {"from": current.name, "to": change.plan.name, "change": change.kind, **extra}
    if change.kind == "upgrade":
        details["charge"] = format_money(change.charge_cents, change.plan.currency)
    if change.effective:
        details["starts"] = change.effective.isoformat()
    audit_record(action=AuditEvent.Action.PLAN_CHANGED, actor=account, details=details)
    return change


def subscription_assign(*, subscription: Subscription, plan: Plan) -> Subscription:
    """Puts the subscription on `plan` at once, without charges (an admin's override)."""
    subscription.plan = plan
    subscription.pending_plan = None
    subscription.save(update_fields=["plan", "pending_plan"])
    return subscription


def subscriptions_renew_due(*, day: date | None = None, limit: int = 500) -> int:
    """Renews up to `limit` subscriptions whose period has ended; returns how many it renewed."""
    day = day or today()
    due = list(Subscription.objects.filter(current_period_end__lte=day).order_by("current_period_end", "pk")[:limit])
    for subscription in due:
        subscription_renew(subscription=subscription, day=day)
    return len(due)


# Billing details


def billing_details_save(
    *,
    account,
    name: str,
    country: str,
    address_line1: str = "",
    address_line2: str = "",
    postal_code: str = "",
    city: str = "",
    vat_id: str = "",
    email: str = "",
) -> BillingDetails:
    """Creates or replaces the account's billing details; later invoices are addressed to them."""
    details, _ = BillingDetails.objects.update_or_create(
        account=account,
        defaults={
            "name": name.strip(),
            "country": country.strip().upper(),
            "address_line1": address_line1.strip(),
            "address_line2": address_line2.strip(),
            "postal_code": postal_code.strip(),
            "city": city.strip(),
            "vat_id": vat_id,
            "email": email.strip(),
            "updated_at": timezone.now(),
        },
    )
    return details


# Invoices


def _invoice_draft(*, account, period_start: date, period_end: date, currency: str) -> Invoice:
    invoice, _ = Invoice.objects.get_or_create(
        account=account,
        period_start=period_start,
        defaults={"period_end": period_end, "currency": currency, "status": Invoice.Status.DRAFT},
    )
    return invoice


def invoice_issue(*, account, period_start: date, period_end: date, plan: Plan) -> Invoice | None:
    """Issues the account's invoice for a period: the plan's fee plus lines gathered on its draft.

    Numbers it, opens it, snapshots the billing details and hands it to the payment provider after
    commit. Idempotent: an already issued invoice is returned unchanged; with nothing to charge
    no invoice is made and None is returned.
    """
    with transaction.atomic():
        if plan.price_cents:
            _invoice_draft(account=account, period_start=period_start, period_end=period_end, currency=plan.currency)
        invoice = Invoice.objects.select_for_update().filter(account=account, period_start=period_start).first()
        if invoice is None:
            return None
        if invoice.status != Invoice.Status.DRAFT:
            return invoice
        if plan.price_cents:
            InvoiceLine.objects.create(
                invoice=invoice,
                quantity=1,
                unit_price_cents=plan.price_cents,
                amount_cents=plan.price_cents,
                description=f"{plan} plan, {_span(period_start, period_end)}",
            )
            invoice.currency = plan.currency
        invoice.total_cents = sum(line.amount_cents for line in invoice.lines.all())
        invoice.number = f"FD-{period_start:%Y%m}-{invoice.pk:06d}"
        invoice.status = Invoice.Status.OPEN
        invoice.issued_at = timezone.now()
        invoice.bill_to = _bill_to(account)
        invoice.save()
        transaction.on_commit(lambda: get_provider().collect(invoice))
    return invoice


def _bill_to(account) -> str:
    details = BillingDetails.objects.filter(account=account).first()
    lines = details.address_lines() if details else []
    return "\n".join([*lines, details.email if details and details.email else account.email])


def invoice_mark_paid(*, invoice: Invoice, paid_at: datetime | None = None) -> Invoice:
    """Marks an open invoice paid (the manual provider's only step). Other states are left alone."""
    # Conditional UPDATE: a void or already paid invoice changes nothing.
    Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.OPEN).update(
        status=Invoice.Status.PAID, paid_at=paid_at or timezone.now()
    )
    invoice.refresh_from_db()
    return invoice


def invoice_void(*, invoice: Invoice) -> Invoice:
    """Cancels an open invoice; a paid one stays paid."""
    Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.OPEN).update(status=Invoice.Status.VOID)
    invoice.refresh_from_db()
    return invoice


# Usage alerts


def usage_alert_settings_save(
    *, account, thresholds: dict[str, list[int]], upload_cap_percent: int | None
) -> UsageAlertSettings:
    """Creates or replaces the account's alert thresholds per quota and its upload cap."""
    settings_, _ = UsageAlertSettings.objects.update_or_create(
        account=account,
        defaults={
            "thresholds": {quota: sorted(set(values)) for quota, values in thresholds.items()},
            "upload_cap_percent": upload_cap_percent,
            "updated_at": timezone.now(),
        },
    )
    return settings_


# The initiator of a usage alert's webhook: no request made it, a periodic check did.
SYSTEM_INITIATOR = {"type": "system", "detail": {"request_id": None, "addon_name": None}}


def usage_alerts_send(*, account, day: date | None = None) -> list[tuple[str, int]]:
    """Alerts the account about each threshold of a quota its usage reached, once per period.

    Writes a UsageAlert per (quota, threshold): its unique constraint makes a second run or a
    racing worker record and send nothing. For each one recorded, writes a project.usage_alert
    event for each of the account's live projects, and emails the account after commit.
    Returns the (quota, threshold) pairs recorded.
    """
    day = day or today()
    period_start = month_bounds(day)[0]
    plan = subscription_for(account).plan
    reached = [
        (quota, threshold) for quota in account_usage(account, plan=plan, day=day) for threshold in quota.reached
    ]
    new = []
    with transaction.atomic():
        for quota, threshold in reached:
            # get_or_create: INSERT, and on the constraint's conflict (another worker's row,
            # committed or not: the INSERT waits for it) reads it instead: only one of them sends.
            _, created = UsageAlert.objects.get_or_create(
                account=account, period_start=period_start, quota=quota.key, threshold=threshold
            )
            if created:
                new.append((quota, threshold))
        if new:
            _usage_alert_events(account, plan, period_start, new)
            transaction.on_commit(lambda: _send_alert_email(account, plan, new))
    return [(quota.key, threshold) for quota, threshold in new]


def usage_alert_payload(*, quota: QuotaUsage, threshold: int, plan: Plan, period_start: date) -> dict:
    """The `data` of a project.usage_alert webhook: the account's usage of one quota, as of the alert."""
    return {
        "quota": quota.key,
        "label": quota.label,
        "threshold": threshold,
        "used": quota.used,
        "limit": quota.limit,
        "percent": quota.percent,
        "monthly": quota.monthly,
        "plan": plan.slug,
        "period_start": period_start.isoformat(),
    }


def _usage_alert_events(account, plan: Plan, period_start: date, alerts) -> None:
    # Quotas are the account's, webhooks are its projects': each live project it owns hears of it.
    # The relay's beat sweep picks the events up (billing does not import the relay to wake it).
    project_ids = list(
        Project.objects.live().filter(memberships__user=account, memberships__role="owner").values_list("pk", flat=True)
    )
    Event.objects.bulk_create(
        [
            Event(
                project_id=project_id,
                type=Event.Type.PROJECT_USAGE_ALERT,
                payload=usage_alert_payload(quota=quota, threshold=threshold, plan=plan, period_start=period_start),
                initiator=SYSTEM_INITIATOR,
            )
            for project_id in project_ids
            for quota, threshold in alerts
        ]
    )


def _send_alert_email(account, plan: Plan, alerts) -> None:
    highest = {}  # per quota, only the highest threshold reached this time is worth a line
    for quota, threshold in alerts:
        if threshold >= highest.get(quota.key, (None, 0))[1]:
            highest[quota.key] = (quota, threshold)
    lines = [{"quota": quota, "threshold": threshold} for quota, threshold in highest.values()]
    limits_reached = any(line["threshold"] >= 100 for line in lines)
    context = {
        "account": account,
        "plan": plan,
        "lines": lines,
        "url": settings.SITE_URL + reverse("billing:overview"),
        "plan_url": settings.SITE_URL + reverse("billing:plan"),
    }
    subject = (
        f"Your account reached the limits of the {plan} plan"
        if limits_reached
        else f"Your account is nearing the limits of the {plan} plan"
    )
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
        message=render_to_string("billing/email/usage_alert.txt", context),
        from_email=None,
        recipient_list=[account.email],
    )


def usage_alerts_send_all(*, day: date | None = None, batch: int = 200) -> int:
    """Checks every account that owns a project with usage this month; returns how many were emailed."""
    day = day or today()
    start = month_bounds(day)[0]
    owners = (
        User.objects.filter(
            memberships__role="owner",
            memberships__project__deleted_at__isnull=True,
            memberships__project__usage_days__day__gte=start,
        )
        .distinct()
        .order_by("pk")
    )
    emailed, last = 0, None
    while True:
        page = owners if last is None else owners.filter(pk__gt=last)
        accounts = list(page[:batch])
        if not accounts:
            return emailed
        for account in accounts:
            emailed += bool(usage_alerts_send(account=account, day=day))
        last = accounts[-1].pk
