"""The files browser's "Convert…": a document or video's conversions on its detail page, and the
small form that starts one (format; for video also size and quality). The job is the same as the
REST API's (files.conversions.jobs)."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from files import services
from files.conversions import documents, paths
from files.conversions.jobs import conversions_create, conversions_of, tools_missing
from files.initiators import api_initiator
from files.models import Conversion, File
from projects.access import project_view
from projects.models import Project, Role


def convertible(file: File) -> tuple[str, tuple[str, ...]]:
    """(kind, target formats) of a file the browser offers to convert; ("", ()) for others."""
    if file.mime_type.startswith("video/"):
        return Conversion.Kind.VIDEO, paths.VIDEO_FORMATS
    targets = documents.targets(documents.source_format(file.original_filename, file.mime_type))
    return (Conversion.Kind.DOCUMENT, targets) if targets else ("", ())


class ConvertForm(forms.Form):
    format = forms.ChoiceField()
    size = forms.RegexField(
        regex=r"^\d{0,4}x\d{0,4}$", required=False, help_text="Video only: WxH, Wx or xH (e.g. 640x360)."
    )
    quality = forms.ChoiceField(choices=[(q, q) for q in paths.QUALITIES], initial="normal", required=False)

    def __init__(self, *args, kind: str, formats: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["format"].choices = [(name, name) for name in formats]
        if kind != Conversion.Kind.VIDEO:
            del self.fields["size"], self.fields["quality"]

    def path(self, file: File) -> str:
        data = self.cleaned_data
        path = f"{file.uuid}/{self.kind}/-/format/{data['format']}/"
        if self.kind == Conversion.Kind.VIDEO:
            if data.get("size") and data["size"] != "x":
                path += f"-/size/{data['size']}/"
            path += f"-/quality/{data.get('quality') or 'normal'}/"
        return path


def conversion_panel(file: File) -> dict:
    """What the detail page shows: the file's conversions, and the form or why there is none."""
    kind, formats = convertible(file)
    return {
        "kind": kind,
        "missing": tools_missing(kind, file) if kind else "",
        "form": ConvertForm(kind=kind, formats=formats) if kind else None,
        "jobs": conversions_of(file),
    }


@project_view(role=Role.MEMBER, methods=("POST",))
def file_convert(request: HttpRequest, project: Project, file_id) -> HttpResponse:
    file = services.file_lookup(project=project, file_id=file_id)
    if file is None or file.is_removed:
        raise Http404("No such file.")
    kind, formats = convertible(file)
    form = ConvertForm(request.POST, kind=kind, formats=formats)
    if not kind or not form.is_valid():
        messages.error(request, "Choose a format this file converts to (and a size like 640x360 for video).")
        return redirect("files:detail", project_id=project.pk, file_id=file.uuid)
    created = conversions_create(
        project=project, kind=kind, paths=[form.path(file)], initiator=api_initiator("dashboard")
    )
    for problem in created.problems.values():
        messages.error(request, problem)
    if created.conversions:
        messages.success(request, f"Converting “{file.original_filename}” to {form.cleaned_data['format']}.")
    return redirect("files:detail", project_id=project.pk, file_id=file.uuid)
