"""A project's audit log: security-relevant changes, for admins and the owner."""

from django.shortcuts import render

from accounts.audit import audit_events_for_project, audit_page
from accounts.forms import AuditFilterForm
from projects.access import project_view
from projects.models import Role


@project_view(role=Role.ADMIN, methods=("GET",))
def audit_log(request, project):
    form = AuditFilterForm(request.GET)
    events, next_cursor = audit_page(audit_events_for_project(project=project), **form.filters())
    context = {"project": project, "form": form, "events": events, "next_cursor": next_cursor}
    return render(request, "accounts/project_audit.html", context)
