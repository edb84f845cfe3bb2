from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billing.quotas import usage_alerts_current
from core import bases
from core.prg import form_restore, redirect_with_form
from files.addons.runs import scanner_state
from files.cdn.cache import cache_used
from files.services import project_file_totals
from projects import services
from projects.access import project_view
from projects.forms import ProjectDeleteForm, ProjectNameForm, SafetySettingsForm, UploadSettingsForm
from projects.integrate import pyuploadcare_snippet, upload_client_snippet
from projects.models import Project, Role
from projects.one_shot import FIRST_SECRET, secret_keep, secret_pop


@login_required
def home(request):
    project = Project.objects.for_user(request.user).order_by("created_at").first()
    if project is None:
        return redirect("projects:list")
    return redirect("projects:overview", project_id=project.pk)


@login_required
def project_list(request):
    projects = Project.objects.for_user(request.user).order_by("name")
    return render(request, "projects/list.html", {"projects": projects})


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request):
    if request.method == "GET":
        return render(
            request, "projects/create.html", {"form": form_restore(request, ProjectNameForm) or ProjectNameForm()}
        )
    form = ProjectNameForm(request.POST)
    if not form.is_valid():
        return redirect_with_form(request, form, "projects:create")
    project, secret = services.project_create_with_secret(owner=request.user, name=form.cleaned_data["name"])
    secret_keep(request, FIRST_SECRET, owner_id=project.pk, secret=secret)  # shown once on the overview
    messages.success(request, f"Project “{project.name}” created with a secret key.")
    return redirect("projects:overview", project_id=project.pk)


@project_view(role=Role.VIEWER, methods=("GET",))
def overview(request, project):
    urls = bases.bases(request)
    # The project's first secret, once, to its admins (the owner who just made it).
    first_secret = secret_pop(request, FIRST_SECRET, owner_id=project.pk) if project.membership.is_admin else None
    context = {
        "project": project,
        "new_secret": first_secret,
        "totals": project_file_totals(project=project),
        "cache": {"used": cache_used(project.pk), "budget": settings.FILEDOCK_CACHE_BUDGET},
        # The owner pays: only they see their account's usage alerts (billing is theirs alone).
        "usage_alerts": usage_alerts_current(request.user) if project.membership.role == Role.OWNER else [],
        "pyuploadcare": pyuploadcare_snippet(
            public_key=project.public_key, secret_key=first_secret and first_secret["secret"], **urls
        ),
        "upload_client": upload_client_snippet(
            public_key=project.public_key, upload_base=urls["upload_base"], cdn_base=urls["cdn_base"]
        ),
        **urls,
    }
    response = render(request, "projects/overview.html", context)
    if first_secret:
        response["Cache-Control"] = "no-store"  # not from the back button or a cache: it was shown once
    return response


@project_view(role=Role.ADMIN, methods=("GET",))
def project_settings(request, project):
    return _render_settings(request, project)


@project_view(role=Role.ADMIN, methods=("POST",))
def project_rename(request, project):
    form = ProjectNameForm(request.POST)
    if not form.is_valid():
        return redirect_with_form(request, form, "projects:settings", project_id=project.pk)
    services.project_rename(project=project, name=form.cleaned_data["name"])
    messages.success(request, "Project renamed.")
    return redirect("projects:settings", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def project_uploads(request, project):
    form = UploadSettingsForm(request.POST, instance=project)
    if not form.is_valid():
        return redirect_with_form(request, form, "projects:settings", project_id=project.pk)
    services.project_configure_uploads(project=project, **form.upload_settings())
    messages.success(request, "Upload settings saved.")
    return redirect("projects:settings", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def project_safety(request, project):
    form = SafetySettingsForm(request.POST, instance=Project.objects.get(pk=project.pk))
    if not form.is_valid():
        return redirect_with_form(request, form, "projects:settings", project_id=project.pk)
    services.project_configure_safety(project=project, **form.cleaned_data)
    messages.success(request, "Upload safety settings saved.")
    return redirect("projects:settings", project_id=project.pk)


@project_view(role=Role.OWNER, methods=("POST",))
def project_delete(request, project):
    form = ProjectDeleteForm(request.POST, project=project)
    if not form.is_valid():
        return redirect_with_form(request, form, "projects:settings", project_id=project.pk)
    services.project_delete(project=project)
    messages.success(request, f"Project “{project.name}” deleted. Its files are being removed.")
    return redirect("projects:list")


def _render_settings(request, project):
    # A copy for the upload settings a failed POST left: validating sets its values on the instance.
    kept_uploads = form_restore(request, UploadSettingsForm, instance=Project.objects.get(pk=project.pk))
    context = {
        "project": project,
        "rename_form": form_restore(request, ProjectNameForm) or ProjectNameForm(initial={"name": project.name}),
        "uploads_form": kept_uploads or UploadSettingsForm(instance=project),
        "safety_form": form_restore(request, SafetySettingsForm, instance=Project.objects.get(pk=project.pk))
        or SafetySettingsForm(instance=project),
        "scanner": scanner_state(project),
        "delete_form": form_restore(request, ProjectDeleteForm, project=project) or ProjectDeleteForm(project=project),
    }
    return render(request, "projects/settings.html", context)
