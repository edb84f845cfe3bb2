"""Billing pages. Every page is the signed-in account's own: there is nothing to share or leak."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import services
from billing.forms import BillingDetailsForm, PlanChoiceForm, UsageAlertsForm
from billing.models import BillingDetails, Invoice, Plan
from billing.money import format_money
from billing.pdf import invoice_pdf as render_invoice_pdf
from billing.periods import month_bounds, today
from billing.quotas import usage_settings_for
from billing.reports import usage_report
from core.prg import form_restore, redirect_with_form


@login_required
@require_GET
def overview(request):
    subscription = services.subscription_for(request.user)
    invoices = Invoice.objects.filter(account=request.user)
    context = {
        "subscription": subscription,
        "report": usage_report(account=request.user, plan=subscription.plan),
        "invoices": invoices.exclude(status=Invoice.Status.DRAFT)[:24],
        "upcoming": invoices.filter(status=Invoice.Status.DRAFT).prefetch_related("lines").first(),
        "details": BillingDetails.objects.filter(account=request.user).first(),
        "alerts_form": form_restore(request, UsageAlertsForm)
        or UsageAlertsForm.from_settings(usage_settings_for(request.user)),
        "alerts_sent": request.user.usage_alerts.filter(period_start=month_bounds(today())[0]),
    }
    return render(request, "billing/overview.html", context)


@login_required
@require_POST
def alerts_save(request):
    """The account's own alert thresholds and upload cap: every account is the owner of its billing."""
    form = UsageAlertsForm(request.POST)
    if not form.is_valid():
        return redirect_with_form(request, form, reverse("billing:overview") + "#alerts")
    services.usage_alert_settings_save(
        account=request.user, thresholds=form.thresholds(), upload_cap_percent=form.cleaned_data["upload_cap_percent"]
    )
    messages.success(request, "Usage alerts saved.")
    return redirect(reverse("billing:overview") + "#alerts")


@login_required
@require_http_methods(["GET", "POST"])
def plan(request):
    subscription = services.subscription_for(request.user)
    if request.method == "POST":
        return _plan_change(request, subscription)
    context = {"subscription": subscription, "plans": _plan_offers(subscription), "rule": services.PRORATION_RULE}
    return render(request, "billing/plan.html", context)


def _plan_change(request, subscription):
    form = PlanChoiceForm(request.POST, current=subscription.plan)
    if not form.is_valid():
        messages.error(request, "Choose one of the plans below.")
        return redirect("billing:plan")
    plan, day = form.cleaned_data["plan"], today()
    preview = services.plan_change_preview(account=request.user, plan=plan, day=day)
    if preview.charge_cents and form.cleaned_data["charge"] != preview.charge_cents:
        # A paid upgrade happens only from its confirmation page, for the amount that page stated.
        if form.cleaned_data["charge"] is not None:
            messages.info(request, "The amount for the rest of the month has changed; check it and confirm again.")
        return redirect("billing:plan_confirm", slug=plan.slug)
    try:
        change = services.subscription_change_plan(account=request.user, plan=plan, day=day)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("billing:plan")
    messages.success(request, _change_message(change))
    return redirect("billing:overview")


@login_required
@require_GET
def plan_confirm(request, slug: str):
    """The step before a paid upgrade: what it costs now and from next month."""
    plan = get_object_or_404(Plan.objects.public(), slug=slug)
    change = services.plan_change_preview(account=request.user, plan=plan)
    if not change.charge_cents:
        return redirect("billing:plan")  # nothing to pay now: the plan page changes it directly
    return render(request, "billing/plan_confirm.html", {"change": change})


def _plan_offers(subscription) -> list[dict]:
    current = subscription.plan
    day = today()
    offers = []
    for p in Plan.objects.public():
        charge = 0
        if p.price_cents > current.price_cents:
            charge = services.proration_cents(
                old_price=current.price_cents,
                new_price=p.price_cents,
                day=day,
                period_start=subscription.current_period_start,
                period_end=subscription.current_period_end,
            )
        kind = (
            "current"
            if p.pk == current.pk
            else "upgrade"
            if p.price_cents > current.price_cents
            else ("downgrade" if p.price_cents < current.price_cents else "switch")
        )
        offers.append({"plan": p, "kind": kind, "charge": charge, "pending": p.pk == subscription.pending_plan_id})
    return offers


def _change_message(change) -> str:
    if change.kind == "upgrade":
        charge = format_money(change.charge_cents, change.plan.currency)
        return (
            f"You are now on the {change.plan} plan. {charge} for the rest of this month is added to your next invoice."
        )
    if change.kind == "downgrade":
        return f"You will move to the {change.plan} plan on {date_format(change.effective, 'M j, Y')}."
    if change.kind == "downgrade_cancelled":
        return f"The scheduled downgrade is cancelled; you stay on the {change.plan} plan."
    if change.kind == "switch":
        return f"You are now on the {change.plan} plan."
    return f"You are already on the {change.plan} plan."


@login_required
@require_http_methods(["GET", "POST"])
def details(request):
    existing = BillingDetails.objects.filter(account=request.user).first()
    if request.method == "GET":
        form = form_restore(request, BillingDetailsForm, instance=existing) or BillingDetailsForm(instance=existing)
        return render(request, "billing/details.html", {"form": form})
    form = BillingDetailsForm(request.POST, instance=existing)
    if not form.is_valid():
        return redirect_with_form(request, form, "billing:details")
    services.billing_details_save(account=request.user, **form.details())
    messages.success(request, "Billing details saved. New invoices are addressed to them.")
    return redirect("billing:overview")


def _invoice(request, number: str) -> Invoice:
    invoice = (
        Invoice.objects.filter(account_id=request.user.pk, number=number)
        .exclude(status=Invoice.Status.DRAFT)
        .prefetch_related("lines")
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


@login_required
@require_GET
def invoice(request, number: str):
    issuer = {
        "lines": settings.FILEDOCK_INVOICE_ISSUER.splitlines(),
        "vat_number": settings.FILEDOCK_INVOICE_VAT_NUMBER,
        "payment": settings.FILEDOCK_INVOICE_PAYMENT_DETAILS,
    }
    return render(request, "billing/invoice.html", {"invoice": _invoice(request, number), "issuer": issuer})


@login_required
@require_GET
def invoice_pdf(request, number: str):
    invoice = _invoice(request, number)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="invoice-{invoice.number}.pdf"'
    return response
