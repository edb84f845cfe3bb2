"""The Integrate page: pick the File Uploader's options, copy the snippet for this server."""

from urllib.parse import urlsplit

from django.shortcuts import render

from core import bases
from projects.access import project_view
from projects.integrate import UploaderOptionsForm, pyuploadcare_snippet, upload_client_snippet, uploader_snippet
from projects.models import Role


@project_view(role=Role.VIEWER, methods=("GET",))
def integrate(request, project):
    form = UploaderOptionsForm(request.GET or None)
    urls = bases.bases(request)
    parts = urlsplit(urls["cdn_base"])
    cdn_origin = f"{parts.scheme}://{parts.netloc}"  # the uploader keeps only the CDN's origin
    context = {
        "project": project,
        "form": form,
        "uploader": uploader_snippet(
            form.options(), public_key=project.public_key, upload_base=urls["upload_base"], cdn_origin=cdn_origin
        ),
        "pyuploadcare": pyuploadcare_snippet(public_key=project.public_key, **urls),
        "upload_client": upload_client_snippet(
            public_key=project.public_key, upload_base=urls["upload_base"], cdn_base=urls["cdn_base"]
        ),
        "cdn_on_own_origin": parts.path in ("", "/"),
    }
    return render(request, "projects/integrate.html", context)
