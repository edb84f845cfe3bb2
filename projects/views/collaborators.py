from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from core.prg import form_restore, redirect_with_form
from projects import services
from projects.access import project_view
from projects.forms import InvitationForm, RoleForm, TransferForm
from projects.models import Role


@project_view(role=Role.VIEWER, methods=("GET",))
def collaborator_list(request, project):
    return _render(request, project)


@project_view(role=Role.ADMIN, methods=("POST",))
def invite(request, project):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(project=project, invited_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("projects:collaborators", project_id=project.pk)
    return redirect_with_form(request, form, "projects:collaborators", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def invitation_cancel(request, project, invitation_id):
    invitation = get_object_or_404(project.invitations, pk=invitation_id)
    services.invitation_cancel(invitation=invitation)
    messages.success(request, f"Invitation for {invitation.email} cancelled.")
    return redirect("projects:collaborators", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def change_role(request, project, membership_id):
    membership = get_object_or_404(project.memberships.select_related("user"), pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose admin, member or viewer.")
    else:
        _attempt(
            request,
            services.membership_change_role,
            f"{membership.user.email} is now {form.cleaned_data['role']}.",
            membership=membership,
            role=form.cleaned_data["role"],
        )
    return redirect("projects:collaborators", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def remove(request, project, membership_id):
    membership = get_object_or_404(project.memberships.select_related("user"), pk=membership_id)
    _attempt(request, services.membership_remove, f"{membership.user.email} removed.", membership=membership)
    return redirect("projects:collaborators", project_id=project.pk)


@project_view(role=Role.VIEWER, methods=("POST",))
def leave(request, project):
    if _attempt(request, services.membership_remove, f"You left “{project.name}”.", membership=project.membership):
        return redirect("projects:home")
    return redirect("projects:collaborators", project_id=project.pk)


@project_view(role=Role.OWNER, methods=("POST",))
def transfer(request, project):
    form = TransferForm(request.POST, project=project)
    if not form.is_valid():
        return redirect_with_form(request, form, "projects:collaborators", project_id=project.pk)
    new_owner = form.cleaned_data["membership"]
    services.ownership_transfer(project=project, to=new_owner)
    messages.success(request, f"{new_owner.user.email} now owns the project. You are an admin.")
    return redirect("projects:collaborators", project_id=project.pk)


def _attempt(request, service, success: str, **kwargs) -> bool:
    try:
        service(**kwargs)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    messages.success(request, success)
    return True


def _render(request, project):
    context = {
        "project": project,
        "memberships": project.memberships.select_related("user"),
        "invitations": project.invitations.pending(),
        "invite_form": form_restore(request, InvitationForm) or InvitationForm(),
        "transfer_form": form_restore(request, TransferForm, project=project) or TransferForm(project=project),
        "roles": RoleForm.base_fields["role"].choices,
    }
    return render(request, "projects/collaborators.html", context)
