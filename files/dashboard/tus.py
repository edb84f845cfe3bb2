"""The files page's own resumable uploads: tus 1.0 under the project's files URL, which the page
(static/js/tus.js) uses for files above TUS_THRESHOLD.

The member's session and CSRF token say who uploads, so neither a public key nor an upload
signature travels, and the page holds no credential it could leak. The uploads are the Upload
API's tus uploads (files.uploads.tus: same limits, quota, expiry, resumption across restarts);
their files are marked as the dashboard's, like the page's form uploads. Only the page's
`filename` and `filetype` are read from Upload-Metadata; storing follows the project's setting.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from files.dashboard.forms import size_refusal
from files.initiators import api_initiator
from files.uploads import tus
from files.uploads.tus_views import answer, created, tus_protocol, upload_length
from projects.access import project_view
from projects.models import Project, Role

# Above this the page uploads a file with tus, in CHUNK_SIZE pieces; below it, in one form POST.
# 10 MiB is where pyuploadcare switches from one request to multipart (API.md): a smaller file
# gains little from resuming, and one request is fewer round trips. A larger one also gets past
# any proxy body limit (nginx takes 128 MiB per request) whatever its size.
TUS_THRESHOLD = 10 * 1024**2
CHUNK_SIZE = settings.FILEDOCK_MULTIPART_PART_SIZE  # 5 MiB, as the Upload API's multipart parts


def _completion() -> dict:
    """What a file finished by this request is marked with: the dashboard's door."""
    return {"initiator": api_initiator("dashboard"), "source": "dashboard"}


@project_view(role=Role.MEMBER, methods=("POST",))
@tus_protocol("POST")
def tus_collection(request: HttpRequest, method: str, project: Project) -> HttpResponse:
    """Creation: 201 with the upload's URL under this project."""
    length = upload_length(request)
    metadata = tus.parse_metadata(request.headers.get("Upload-Metadata", ""))
    refusal = size_refusal(project, metadata.get("filename") or "The file", length)
    if refusal:
        raise tus.TusError(413, refusal)
    upload = tus.tus_create(
        project=project,
        length=length,
        metadata={key: metadata[key] for key in ("filename", "filetype") if key in metadata},
    )
    return created(request, upload, reverse("files:tus_upload", args=[project.pk, upload.uuid]), **_completion())


@project_view(role=Role.MEMBER, methods=("HEAD", "PATCH", "DELETE"))
@tus_protocol("HEAD", "PATCH", "DELETE")
def tus_resource(request: HttpRequest, method: str, project: Project, upload_id) -> HttpResponse:
    """Where an upload of this project stands (HEAD), its next bytes (PATCH), or its end (DELETE)."""
    return answer(request, method, tus.tus_lookup(upload_id, project=project), **_completion())
