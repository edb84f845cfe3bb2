"""Delivery settings: signed URLs and their secrets, automatic format, quality, downloads."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from core import bases
from projects import services
from projects.access import project_view
from projects.forms import DeliverySettingsForm
from projects.models import DELIVERY_SECRETS_MAX, Role
from projects.one_shot import secret_keep, secret_pop

NEW_SECRET_SESSION_KEY = "new_delivery_secret"


@project_view(role=Role.ADMIN, methods=("GET",))
def delivery(request, project):
    return _render(request, project)


@project_view(role=Role.ADMIN, methods=("POST",))
def delivery_save(request, project):
    form = DeliverySettingsForm(request.POST, instance=project)
    if form.is_valid():
        try:
            services.project_configure_delivery(project=project, **form.cleaned_data)
        except services.DeliveryError as exc:
            form.add_error("signed_delivery", str(exc))
        else:
            messages.success(request, "Delivery settings saved.")
            return redirect("projects:delivery", project_id=project.pk)
    project.refresh_from_db()  # the invalid form must not leave its values on the shown project
    return _render(request, project, form=form, status=400)


@project_view(role=Role.ADMIN, methods=("POST",))
def secret_create(request, project):
    try:
        row, value = services.delivery_secret_create(project=project, created_by=request.user)
    except services.DeliveryError as exc:
        messages.error(request, str(exc))
    else:
        secret_keep(request, NEW_SECRET_SESSION_KEY, owner_id=row.pk, secret=value)  # shown once
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


def _render(request, project, form=None, status=200):
    context = {
        "project": project,
        "form": form or DeliverySettingsForm(instance=project),
        "secrets": project.delivery_secrets.select_related("created_by"),
        "secrets_max": DELIVERY_SECRETS_MAX,
        "new_secret": secret_pop(request, NEW_SECRET_SESSION_KEY),
        **bases.bases(request),
    }
    response = render(request, "projects/delivery.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
