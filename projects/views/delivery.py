"""Delivery settings: signed URLs and their secrets, automatic format, quality, downloads."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from core import bases
from core.prg import form_restore, redirect_with_form
from projects import services
from projects.access import project_view
from projects.forms import DeliverySettingsForm
from projects.models import DELIVERY_SECRETS_MAX, Project, Role
from projects.one_shot import secret_keep, secret_pop

NEW_SECRET_SESSION_KEY = "new_delivery_secret"


@project_view(role=Role.ADMIN, methods=("GET",))
def delivery(request, project):
    return _render(request, project)


@project_view(role=Role.ADMIN, methods=("POST",))
def delivery_save(request, project):
    form = DeliverySettingsForm(request.POST, instance=Project.objects.get(pk=project.pk))
    if form.is_valid():
        try:
            services.project_configure_delivery(project=project, **form.cleaned_data)
        except services.DeliveryError as exc:
            form.add_error("signed_delivery", str(exc))
        else:
            messages.success(request, "Delivery settings saved.")
            return redirect("projects:delivery", project_id=project.pk)
    return redirect_with_form(request, form, "projects:delivery", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def secret_create(request, project):
    try:
        row, value = services.delivery_secret_create(project=project, created_by=request.user)
    except services.DeliveryError as exc:
        messages.error(request, str(exc))
    else:
        secret_keep(request, f"{NEW_SECRET_SESSION_KEY}:{project.pk}", owner_id=row.pk, secret=value)  # shown once
    return redirect("projects:delivery", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def secret_remove(request, project, secret_id):
    secret = get_object_or_404(project.delivery_secrets, pk=secret_id)
    try:
        services.delivery_secret_delete(secret=secret)
    except services.DeliveryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Secret …{secret.last4} removed. URLs signed with it no longer work.")
    return redirect("projects:delivery", project_id=project.pk)


def _render(request, project):
    # A copy for the kept form to validate against: validating sets its values on the instance.
    kept = form_restore(request, DeliverySettingsForm, instance=Project.objects.get(pk=project.pk))
    context = {
        "project": project,
        "form": kept or DeliverySettingsForm(instance=project),
        "secrets": project.delivery_secrets.select_related("created_by"),
        "secrets_max": DELIVERY_SECRETS_MAX,
        "new_secret": secret_pop(request, f"{NEW_SECRET_SESSION_KEY}:{project.pk}"),
        **bases.bases(request),
    }
    response = render(request, "projects/delivery.html", context)
    response["Cache-Control"] = "no-store"
    return response
