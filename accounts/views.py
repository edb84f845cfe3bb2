from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.audit import audit_events_for_account, audit_page
from accounts.forms import AuditFilterForm


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The signed-in account's own actions and everything done to the projects it owns."""
    form = AuditFilterForm(request.GET)
    events, next_cursor = audit_page(audit_events_for_account(user=request.user), **form.filters())
    context = {"form": form, "events": events, "next_cursor": next_cursor, "show_project": True}
    return render(request, "accounts/audit.html", context)
