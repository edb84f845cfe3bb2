"""The project's Proxy settings page: the endpoint to copy and the allowed domains."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from core.bases import absolute
from core.prg import form_restore, redirect_with_form
from files.cdn import proxy
from files.dashboard.forms import ProxyDomainForm
from projects.access import project_view
from projects.models import Project, Role


@project_view(role=Role.ADMIN, methods=("GET",))
def proxy_settings(request: HttpRequest, project: Project) -> HttpResponse:
    return _render(request, project)


@project_view(role=Role.ADMIN, methods=("POST",))
def proxy_domain_add(request: HttpRequest, project: Project) -> HttpResponse:
    form = ProxyDomainForm(request.POST)
    if form.is_valid():
        try:
            domain = proxy.proxy_domain_add(project=project, pattern=form.cleaned_data["pattern"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, f"{domain.pattern} added to the allowed domains.")
            return redirect("files:proxy:index", project_id=project.pk)
    return redirect_with_form(request, form, "files:proxy:index", project_id=project.pk)


@project_view(role=Role.ADMIN, methods=("POST",))
def proxy_domain_remove(request: HttpRequest, project: Project, proxy_domain_id) -> HttpResponse:
    domain = get_object_or_404(project.proxy_domains, pk=proxy_domain_id)
    proxy.proxy_domain_remove(domain=domain)
    messages.success(request, f"{domain.pattern} removed. The proxy no longer fetches from it.")
    return redirect("files:proxy:index", project_id=project.pk)


def _render(request: HttpRequest, project: Project) -> HttpResponse:
    return render(
        request,
        "files/proxy.html",
        {
            "project": project,
            "endpoint": f"{absolute(settings.PROXY_BASE, request)}{project.public_key}/",
            "domains": project.proxy_domains.all(),
            "form": form_restore(request, ProxyDomainForm) or ProxyDomainForm(),
        },
    )
