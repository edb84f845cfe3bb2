from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from core.prg import form_restore, redirect_with_form
from projects import services
from projects.access import project_view
from projects.forms import SecretKeyForm
from projects.models import Role
from projects.one_shot import FIRST_SECRET, secret_keep, secret_pop

NEW_SECRET_SESSION_KEY = "new_secret_key"


@project_view(role=Role.ADMIN, methods=("GET",))
def key_list(request, project):
    return _render_keys(request, project)


@project_view(role=Role.ADMIN, methods=("POST",))
def key_create(request, project):
    form = SecretKeyForm(request.POST)
    if not form.is_valid():
        return redirect_with_form(request, form, "projects:keys", project_id=project.pk)
    key, plain = services.secret_key_create(
        project=project, label=form.cleaned_data["label"], created_by=request.user, **form.key_settings()
    )
    # Shown once, then only masked; on this project's keys page, not on the next project's opened.
    secret_keep(request, f"{NEW_SECRET_SESSION_KEY}:{project.pk}", owner_id=key.pk, secret=plain)
    return redirect("projects:keys", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def key_revoke(request, project, key_id):
    key = get_object_or_404(project.secret_keys, pk=key_id)
    services.secret_key_revoke(key=key)
    messages.success(request, f"Key “{key.label}” revoked. Requests signed with it now fail.")
    return redirect("projects:keys", project_id=project.pk)


def _render_keys(request, project):
    new_secret = secret_pop(request, f"{NEW_SECRET_SESSION_KEY}:{project.pk}") or secret_pop(
        request, FIRST_SECRET, owner_id=project.pk
    )
    context = {
        "project": project,
        "keys": project.secret_keys.select_related("created_by"),
        "form": form_restore(request, SecretKeyForm) or SecretKeyForm(),
        "new_secret": new_secret,
    }
    response = render(request, "projects/keys.html", context)
    response["Cache-Control"] = "no-store"
    return response
