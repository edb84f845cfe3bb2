"""A project's API logs: its Upload API and REST requests and failed CDN requests, for admins."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from core.exports import export_response, keyset_walk
from projects.access import project_view
from projects.apilogs import EXPORT_FIELDS, NEWEST_FIRST, api_log_lines, api_log_page, api_log_record
from projects.forms import ApiLogFilterForm
from projects.models import ApiLogLine, Project, Role


@project_view(role=Role.ADMIN, methods=("GET",))
def api_logs(request: HttpRequest, project: Project) -> HttpResponse:
    """The lines newest first, filtered by API, status class, method and time (a GET form)."""
    form = ApiLogFilterForm(request.GET)
    lines, next_cursor = api_log_page(
        api_log_lines(project=project, **form.filters()), before=form.cleaned_data.get("before") or ""
    )
    context = {
        "project": project,
        "form": form,
        "lines": lines,
        "next_cursor": next_cursor,
        "retention_days": settings.FILEDOCK_API_LOG_DAYS,
    }
    return render(request, "projects/api_logs.html", context)


@project_view(role=Role.ADMIN, methods=("GET",))
def api_log_detail(request: HttpRequest, project: Project, line_id) -> HttpResponse:
    line = ApiLogLine.objects.filter(project=project, pk=line_id).first()
    if line is None:
        raise Http404("No such log line.")
    return render(request, "projects/api_log_detail.html", {"project": project, "line": line})


@project_view(role=Role.ADMIN, methods=("GET",))
def api_logs_export(request: HttpRequest, project: Project, fmt: str) -> StreamingHttpResponse:
    """Every line the page's filters select (not only one page), newest first, as CSV or JSON Lines."""
    lines = api_log_lines(project=project, **ApiLogFilterForm(request.GET).filters())
    records = (api_log_record(line) for line in keyset_walk(lines, NEWEST_FIRST))
    return export_response(fmt, f"api-logs-{project.pk}", list(EXPORT_FIELDS), records)
