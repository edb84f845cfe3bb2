"""Small pieces the REST views share: scoped lookups, JSON bodies, the 400 that carries a detail."""

from rest_framework.exceptions import APIException, NotFound, UnsupportedMediaType

from files.errors import UploadError
from files.models import File
from files.services import file_lookup


class BadRequest(APIException):
    """400 with `{"detail": ...}`, the shape the original API uses for request errors."""

    status_code = 400
    default_detail = "Bad request."
    default_code = "bad_request"


class Unavailable(APIException):
    """503: the server cannot do it now (every image renderer busy); the client may try again."""

    status_code = 503
    default_detail = "Busy; try again in a moment."
    default_code = "service_unavailable"


def operation_refused(exc: UploadError) -> APIException:
    """An image operation's UploadError as the REST API answers it: 503 when the renderers are busy,
    so a client retries, else a 400 carrying its message."""
    return Unavailable(exc.message) if exc.status == 503 else BadRequest(exc.message)


class FileRemoved(NotFound):
    default_detail = "File is removed."
    default_code = "file_removed"


def project_file(project, file_id) -> File:
    """The project's file, or 404 for malformed, unknown and other projects' ids alike."""
    file = file_lookup(project=project, file_id=file_id)
    if file is None:
        raise NotFound()
    return file


def live_file(project, file_id) -> File:
    """A file that may still change: 404 once it was deleted or expired."""
    file = project_file(project, file_id)
    if file.is_removed:
        raise FileRemoved()
    return file


def json_body(request):
    """The parsed body; a body the parsers do not take is a bad request (400), not a 415."""
    try:
        return request.data
    except UnsupportedMediaType as exc:
        raise BadRequest(exc.detail) from None


def wants_appdata(request) -> bool:
    return "appdata" in request.query_params.get("include", "").split(",")
