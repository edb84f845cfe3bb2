"""Webhook endpoints of a project: list and create, edit, secret rotation, on/off, test events,
and the delivery log with redelivery. Admins and the owner only: the log shows what was sent."""

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render

from core.prg import form_restore, redirect_with_form
from projects.access import project_view
from projects.forms import WebhookEditForm, WebhookForm
from projects.models import Role, WebhookAttempt, WebhookDelivery
from projects.one_shot import secret_keep, secret_pop
from projects.webhooks import services

NEW_SECRET_SESSION_KEY = "new_webhook_secret"
LOG_SIZE = 50


@project_view(role=Role.ADMIN, methods=("GET",))
def webhook_list(request, project):
    return _render_list(request, project)


@project_view(role=Role.ADMIN, methods=("POST",))
def webhook_create(request, project):
    form = WebhookForm(request.POST)
    if form.is_valid():
        secret = services.webhook_secret_generate()
        try:
            webhook = services.webhook_create(project=project, signing_secret=secret, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            _show_secret_once(request, webhook, secret)
            return redirect("projects:webhook_detail", project_id=project.pk, webhook_id=webhook.pk)
    return redirect_with_form(request, form, "projects:webhooks", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("GET",))
def webhook_detail(request, project, webhook_id):
    webhook = get_object_or_404(project.webhooks, pk=webhook_id)
    return _render_detail(request, project, webhook)


@project_view(role=Role.ADMIN, methods=("POST",))
def webhook_update(request, project, webhook_id):
    webhook = get_object_or_404(project.webhooks, pk=webhook_id)
    form = WebhookEditForm(request.POST)
    if form.is_valid():
        try:
            services.webhook_update(webhook=webhook, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("projects:webhook_detail", project_id=project.pk, webhook_id=webhook.pk)
    return redirect_with_form(request, form, "projects:webhook_detail", project_id=project.pk, webhook_id=webhook.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def webhook_delete(request, project, webhook_id):
    webhook = get_object_or_404(project.webhooks, pk=webhook_id)
    services.webhook_delete(webhook=webhook)
    messages.success(request, f"Endpoint {webhook.target_url} deleted.")
    return redirect("projects:webhooks", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def webhook_rotate_secret(request, project, webhook_id):
    webhook = get_object_or_404(project.webhooks, pk=webhook_id)
    webhook, secret = services.webhook_rotate_secret(webhook=webhook)
    _show_secret_once(request, webhook, secret)
    return redirect("projects:webhook_detail", project_id=project.pk, webhook_id=webhook.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def webhook_enable(request, project, webhook_id):
    webhook = get_object_or_404(project.webhooks, pk=webhook_id)
    services.webhook_enable(webhook=webhook)
    messages.success(request, "Endpoint turned on. New events are delivered to it again.")
    return redirect("projects:webhook_detail", project_id=project.pk, webhook_id=webhook.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def webhook_disable(request, project, webhook_id):
    webhook = get_object_or_404(project.webhooks, pk=webhook_id)
    services.webhook_disable(webhook=webhook)
    messages.success(request, "Endpoint turned off.")
    return redirect("projects:webhook_detail", project_id=project.pk, webhook_id=webhook.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def webhook_send_test(request, project, webhook_id):
    webhook = get_object_or_404(project.webhooks, pk=webhook_id)
    services.webhook_send_test(webhook=webhook)
    messages.success(request, "Test event queued. Its attempt appears in the log below.")
    return redirect("projects:webhook_detail", project_id=project.pk, webhook_id=webhook.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def webhook_redeliver(request, project, webhook_id, delivery_id):
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("webhook"),
        webhook__project=project,
        webhook_id=webhook_id,
        delivery_uuid=delivery_id,
    )
    try:
        services.webhook_redeliver(delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Redelivery queued, with the same webhook-id.")
    return redirect("projects:webhook_detail", project_id=project.pk, webhook_id=webhook_id)


def _show_secret_once(request, webhook, secret: str) -> None:
    secret_keep(request, NEW_SECRET_SESSION_KEY, owner_id=webhook.pk, secret=secret)  # like a new API key


def _pop_secret(request, webhook=None):
    return secret_pop(request, NEW_SECRET_SESSION_KEY, webhook.pk if webhook is not None else None)


def _add_errors(form, exc: ValidationError) -> None:
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    for field, errors in by_field.items():
        form.add_error(field if field in form.fields else None, errors)


def _render_list(request, project):
    webhooks = project.webhooks.annotate(delivery_count=Count("deliveries"))
    context = {"project": project, "webhooks": webhooks, "form": form_restore(request, WebhookForm) or WebhookForm()}
    return render(request, "projects/webhooks.html", context)


def _render_detail(request, project, webhook):
    deliveries = webhook.deliveries.prefetch_related(
        Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("-started_at", "-id"))
    )[:LOG_SIZE]
    context = {
        "project": project,
        "webhook": webhook,
        "form": form_restore(request, WebhookEditForm)
        or WebhookEditForm(initial={"target_url": webhook.target_url, "event": webhook.event}),
        "deliveries": deliveries,
        "new_secret": _pop_secret(request, webhook),
        "log_size": LOG_SIZE,
    }
    response = render(request, "projects/webhooks_detail.html", context)
    response["Cache-Control"] = "no-store"
    return response
