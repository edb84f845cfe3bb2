"""A project's audit log: security-relevant changes, for admins and the owner."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.audit import audit_events_for_project, audit_page
from accounts.forms import AuditFilterForm
from projects.access import project_view
from projects.models import Project, Role


@project_view(role=Role.ADMIN, methods=("GET",))
def audit_log(request: HttpRequest, project: Project) -> HttpResponse:
    """The project's audit events, newest first, filtered by action and dates."""
    form = AuditFilterForm(request.GET)
    events, next_cursor = audit_page(audit_events_for_project(project=project), **form.filters())
    context = {"project": project, "form": form, "events": events, "next_cursor": next_cursor}
    return render(request, "accounts/project_audit.html", context)
