from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from projects import services
from projects.models import Invitation


@require_http_methods(["GET", "POST"])
def invitation(request, token):
    """The link in an invitation email: sign up or sign in, then accept."""
    invitation = get_object_or_404(Invitation.objects.select_related("project", "invited_by"), token=token)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path())
        # Whoever holds the emailed link controls that address: signing up with it needs no second check.
        if invitation.is_pending and invitation.project.deleted_at is None:
            get_adapter(request).stash_verified_email(request, invitation.email)
        return render(request, "projects/invitation.html", {"invitation": invitation})
    if request.method == "POST":
        try:
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("projects:invitation", token=token)
        messages.success(request, f"You joined “{membership.project.name}” as {membership.get_role_display().lower()}.")
        return redirect("projects:overview", project_id=membership.project_id)
    return render(request, "projects/invitation.html", {"invitation": invitation})
