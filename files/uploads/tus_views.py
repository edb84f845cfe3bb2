"""tus 1.0 over HTTP at `{upload_base}tus/`: the collection takes POST (creation, with an optional
first body) and a resource `tus/{uuid}/` takes HEAD, PATCH and DELETE. The project is named by the
`pub_key` entry of Upload-Metadata, beside `filename`, `filetype`, `store` and, when the project
requires signed uploads, `signature` and `expire`. When the last byte arrives the upload becomes a
file whose UUID is the one in its URL.
"""

from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from billing.quotas import QuotaExceeded
from core.bases import absolute
from files import errors
from files.uploads import tus
from files.uploads.auth import check_signature, project_for
from files.uploads.ratelimit import upload_rate_limit

OCTETS = "application/offset+octet-stream"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, HEAD, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Tus-Resumable, Upload-Length, Upload-Metadata, Upload-Offset, Upload-Checksum, Content-Type, "
        "X-HTTP-Method-Override, X-Requested-With"
    ),
    "Access-Control-Expose-Headers": (
        "Location, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, Tus-Resumable, Tus-Version, "
        "Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm"
    ),
    "Access-Control-Max-Age": "86400",
}


def tus_protocol(*methods: str):
    """The protocol around a tus view: Tus-Resumable on every answer, the version check, the
    methods (`X-HTTP-Method-Override` honoured), and every refusal as a plain-text answer with its
    status (tus clients show the body). The view is called with the method after the request."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            method = request.headers.get("X-HTTP-Method-Override", request.method).upper()
            if method == "OPTIONS":
                response = _options()
            elif request.headers.get("Tus-Resumable") != tus.VERSION:
                response = _refusal("Tus-Resumable: 1.0.0 is required.", 412)
                response["Tus-Version"] = tus.VERSION
            elif method not in methods:
                response = _refusal(f"{method} is not allowed here.", 405)
            else:
                try:
                    response = view(request, method, *args, **kwargs)
                except tus.TusError as exc:
                    response = _refusal(exc.message, exc.status)
                except errors.UploadError as exc:
                    response = _refusal(exc.message, exc.status)
                except QuotaExceeded as exc:
                    response = _refusal(exc.message, 403)
            response["Tus-Resumable"] = tus.VERSION
            return response

        return wrapper

    return decorator


def tus_endpoint(*methods: str):
    """tus_protocol for the Upload API, where the public key says who uploads: CORS, and no CSRF
    token (no cookie speaks for the request)."""

    def decorator(view):
        protocol = tus_protocol(*methods)(view)

        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            response = protocol(request, *args, **kwargs)
            for name, value in CORS.items():
                response[name] = value
            return response

        return wrapper

    return decorator


@upload_rate_limit
@tus_endpoint("POST")
def collection(request, method):
    """Creation (and creation-with-upload): 201 with the upload's URL."""
    length = upload_length(request)
    metadata = tus.parse_metadata(request.headers.get("Upload-Metadata", ""))
    project = project_for(metadata, "pub_key")
    check_signature(project, metadata)
    upload = tus.tus_create(project=project, length=length, metadata=metadata)
    return created(request, upload, f"{absolute(settings.UPLOAD_BASE, request)}tus/{upload.uuid}/")


@upload_rate_limit
@tus_endpoint("HEAD", "PATCH", "DELETE")
def resource(request, method, upload_id):
    return answer(request, method, tus.tus_lookup(upload_id))


def upload_length(request) -> int:
    length = _number(request.headers.get("Upload-Length"), "Upload-Length")
    if length is None:
        raise tus.TusError(400, "Upload-Length is required (deferred lengths are not supported).")
    return length


def created(request, upload, location: str, **completion) -> HttpResponse:
    """201 for a new upload at `location`, writing the body of a creation-with-upload at once.
    `completion`: the initiator and source the file gets when this body is its last byte."""
    response = HttpResponse(status=201)
    response["Location"] = location
    response["Upload-Expires"] = http_date(tus.expires_at(upload).timestamp())
    if request.headers.get("Content-Type") == OCTETS and _content_length(request):
        response["Upload-Offset"] = str(_write(request, upload, 0, **completion))
    return response


def answer(request, method: str, upload, **completion) -> HttpResponse:
    """HEAD (where the upload stands), PATCH (the next bytes) or DELETE (termination) of `upload`."""
    if method == "HEAD":
        response = HttpResponse(status=200)
        response["Upload-Offset"] = str(upload.size if upload.completed_at else upload.received)
        response["Upload-Length"] = str(upload.size)
        response["Cache-Control"] = "no-store"
        if upload.completed_at is None:
            response["Upload-Expires"] = http_date(tus.expires_at(upload).timestamp())
        return response
    if method == "DELETE":
        tus.tus_terminate(upload=upload)
        return HttpResponse(status=204)
    if request.headers.get("Content-Type") != OCTETS:
        raise tus.TusError(415, f"A PATCH body is {OCTETS}.")
    offset = _number(request.headers.get("Upload-Offset"), "Upload-Offset")
    if offset is None:
        raise tus.TusError(400, "Upload-Offset is required.")
    response = HttpResponse(status=204)
    response["Upload-Offset"] = str(_write(request, upload, offset, **completion))
    response["Upload-Expires"] = http_date(tus.expires_at(upload).timestamp())
    return response


def _write(request, upload, offset: int, **completion) -> int:
    return tus.tus_write(
        upload=upload,
        offset=offset,
        stream=request,
        length=_content_length(request),
        checksum=request.headers.get("Upload-Checksum", ""),
        **completion,
    )


def _refusal(message: str, status: int) -> HttpResponse:
    """A refusal as plain text: tus clients show it as it is, and a file name in it is never markup."""
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _options() -> HttpResponse:
    response = HttpResponse(status=204)
    response["Tus-Version"] = tus.VERSION
    response["Tus-Extension"] = tus.EXTENSIONS
    response["Tus-Max-Size"] = str(settings.FILEDOCK_MAX_FILE_SIZE)
    response["Tus-Checksum-Algorithm"] = ",".join(tus.CHECKSUMS)
    return response


def _number(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise tus.TusError(400, f"{name} must be a non-negative integer.")
    return int(value)


def _content_length(request) -> int:
    length = _number(request.META.get("CONTENT_LENGTH") or "0", "Content-Length")
    return length or 0
