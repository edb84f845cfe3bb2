"""The file detail page's tags: one POST that sets them all (files.tags)."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from files.dashboard.forms import TagsForm
from files.initiators import api_initiator
from files.services import FileRemovedError, file_lookup
from files.tags import TagError, file_tags_replace
from projects.access import project_view
from projects.models import Project, Role


@project_view(role=Role.MEMBER, methods=("POST",))
def file_tags_set(request: HttpRequest, project: Project, file_id) -> HttpResponse:
    file = file_lookup(project=project, file_id=file_id)
    if file is None:
        raise Http404("No such file.")
    form = TagsForm(request.POST)
    if form.is_valid():
        try:
            file_tags_replace(file=file, tags=form.cleaned_data["tags"], initiator=api_initiator("dashboard"))
        except TagError as exc:
            form.add_error("tags", str(exc))
        except FileRemovedError:
            form.add_error("tags", "This file was deleted; its tags can no longer change.")
    if form.errors:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    else:
        messages.success(request, "Saved the tags.")
    return redirect("files:detail", project_id=project.pk, file_id=file.uuid)
