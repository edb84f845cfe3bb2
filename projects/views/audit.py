"""A project's audit log: security-relevant changes, for admins and the owner."""

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from accounts.audit import (
    AUDIT_EXPORT_FIELDS,
    NEWEST_FIRST,
    audit_events_for_project,
    audit_export_record,
    audit_filter,
    audit_page,
)
from accounts.forms import AuditFilterForm
from core.exports import export_response, keyset_walk
from projects.access import project_view
from projects.models import Project, Role


@project_view(role=Role.ADMIN, methods=("GET",))
def audit_log(request: HttpRequest, project: Project) -> HttpResponse:
    """The project's audit events, newest first, filtered by action and dates."""
    form = AuditFilterForm(request.GET)
    events, next_cursor = audit_page(audit_events_for_project(project=project), **form.filters())
    context = {"project": project, "form": form, "events": events, "next_cursor": next_cursor}
    return render(request, "accounts/project_audit.html", context)


@project_view(role=Role.ADMIN, methods=("GET",))
def audit_export(request: HttpRequest, project: Project, fmt: str) -> StreamingHttpResponse:
    """Every event the page's filters select, newest first, as CSV or JSON Lines."""
    filters = AuditFilterForm(request.GET).filters()
    filters.pop("before")
    events = audit_filter(audit_events_for_project(project=project), **filters)
    records = (audit_export_record(event) for event in keyset_walk(events, NEWEST_FIRST))
    return export_response(fmt, f"audit-{project.pk}", AUDIT_EXPORT_FIELDS, records)
